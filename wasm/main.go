//go:build js && wasm

// Command wasm is the drawing half of the browser demo: an ebiten program on
// the page's main thread. The page's script (web/app.js) runs the network in
// Web Workers and hands each denoising step to ddpmShow; this program draws
// the latest one every frame: the grid of x_t (and x̂_0 beside it), the step,
// a progress bar and the noise schedule with the current t marked. For the
// page's forward mode, ddpmForward hands it a digit and a t instead, and it
// draws that digit's forward process.
package main

import (
	"log"
	"syscall/js"

	"github.com/hajimehoshi/ebiten/v2"
)

func main() {
	g := newGame()
	js.Global().Set("ddpmShow", js.FuncOf(func(_ js.Value, args []js.Value) any {
		if len(args) == 1 {
			g.show(args[0])
		}
		return nil
	}))
	js.Global().Set("ddpmForward", js.FuncOf(func(_ js.Value, args []js.Value) any {
		if len(args) == 1 {
			g.showForward(args[0])
		}
		return nil
	}))
	ebiten.SetWindowTitle("DDPM on MNIST")
	// Frames without a new step keep the last picture: software WebGL on a
	// small machine then leaves the CPU to the workers.
	ebiten.SetScreenClearedEveryFrame(false)
	if err := ebiten.RunGame(g); err != nil {
		js.Global().Call("ddpmFail", "The drawing program stopped: "+err.Error())
		log.Print(err)
	}
}
