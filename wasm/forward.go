//go:build js && wasm

package main

import (
	"fmt"
	"image/color"
	"math"
	"syscall/js"
	"time"

	"github.com/ddpm-go/ddpm/ddpm"
	"github.com/ddpm-go/ddpm/wasm/jsfloat"
	"github.com/hajimehoshi/ebiten/v2"
)

// forward is one digit's forward process as the page hands it over: x_t of
// q(x_t | x_0) at the paper's t (0 is the digit itself) with a fixed ε, the
// first image's noise of the seed (so "denoise from here" starts from it).
type forward struct {
	x0        []float32
	size, t   int
	seed      int
	schedule  string
	T         int
	left, top float64
}

// forwardImages caches what the forward view draws.
type forwardImages struct {
	seed, size int
	eps        []float32
	xs         []float32     // x_0, x_t and the strip's images, end to end
	pair       *ebiten.Image // x_0 and x_t
	strip      *ebiten.Image // x_t at t = 1, T/10, …, T
}

// showForward is ddpmForward: draw the forward view of v (x0, size, t,
// seed, schedule, T, left, top).
func (g *Game) showForward(v js.Value) {
	start := time.Now()
	f := forward{
		x0: jsfloat.Copy(v.Get("x0")), size: v.Get("size").Int(), t: v.Get("t").Int(), seed: v.Get("seed").Int(),
		schedule: v.Get("schedule").String(), T: v.Get("T").Int(), left: v.Get("left").Float(), top: v.Get("top").Float(),
	}
	if f.size < 1 || len(f.x0) != f.size*f.size || f.T < 1 || f.t < 0 || f.t > f.T {
		return
	}
	g.mu.Lock()
	g.fwd, g.dirty, g.view = f, true, viewForward
	g.mu.Unlock()
	wake()
	js.Global().Get("ddpmTimes").Set("forwardCall", float64(time.Since(start).Microseconds())/1000)
}

// forwardMarks are the paper's t of the forward strip: 1, 100, 200, …, T.
func forwardMarks(T int) []int {
	marks := []int{1}
	for k := 1; k <= 10; k++ {
		marks = append(marks, k*T/10)
	}
	return marks
}

// drawForward draws x_0, x_t beside it, the strip and the schedule with t
// marked: the forward process, computed here (a few thousand
// multiply-adds) so a slider's every move is drawn in the next frame.
func (g *Game) drawForward(screen *ebiten.Image, f forward) {
	start := time.Now()
	screen.Fill(color.RGBA{0x16, 0x18, 0x1d, 0xff})
	g.useSchedule(f.schedule, f.T)
	if g.sched == nil || g.sched.T() != f.T {
		return
	}
	c := &g.fwdDraw
	px := f.size * f.size
	if c.eps == nil || c.seed != f.seed || c.size != f.size {
		c.eps = make([]float32, px)
		ddpm.NewRNG(uint64(f.seed)).Normal(c.eps)
		c.seed, c.size = f.seed, f.size
	}
	noised := func(dst []float32, t int) { // x_t for the paper's t (0: x_0)
		if t == 0 {
			copy(dst, f.x0)
			return
		}
		g.sched.QSample(dst, f.x0, c.eps, t-1)
	}
	marks := forwardMarks(f.T)
	if len(c.xs) != (2+len(marks))*px {
		c.xs = make([]float32, (2+len(marks))*px)
	}
	pair, strip := c.xs[:2*px], c.xs[2*px:]
	copy(pair, f.x0)
	noised(pair[px:], f.t)
	for i, t := range marks {
		noised(strip[i*px:(i+1)*px], t)
	}
	c.pair = g.render(c.pair, pair, 2, 2, f.size)
	c.strip = g.render(c.strip, strip, len(marks), 6, f.size) // two rows: 1…500 and 600…1000

	sw := float64(screen.Bounds().Dx())
	x0, y0 := f.left+16, f.top+40
	availW := sw - x0 - 4
	draw := func(img *ebiten.Image, x, y, scale float64) {
		op := &ebiten.DrawImageOptions{}
		op.GeoM.Scale(scale, scale)
		op.GeoM.Translate(x, y)
		screen.DrawImage(img, op)
	}
	// The strip's scale from the width; the pair's from what is left of it
	// and of the height (the strip, the plot and the labels below it).
	pw, stripW, stripH := float64(c.pair.Bounds().Dx()), float64(c.strip.Bounds().Dx()), float64(c.strip.Bounds().Dy())
	sScale := math.Max(1, math.Min(2, math.Floor(availW/stripW)))
	availH := float64(screen.Bounds().Dy()) - y0 - 30 - stripH*sScale - 14 - 92
	if sScale > 1 && availH < 2*float64(f.size) { // a short window: a smaller strip first
		sScale = 1
		availH += stripH
	}
	scale := math.Max(1, math.Min(6, math.Floor(math.Min(availW/pw, availH/float64(f.size)))))
	draw(c.pair, x0, y0, scale)
	half := float64(f.size+2) * scale
	sy := y0 + float64(f.size)*scale + 30
	draw(c.strip, x0, sy, sScale)
	by := sy + float64(c.strip.Bounds().Dy())*sScale + 14
	barW := math.Max(pw*scale, stripW*sScale)
	mark := f.t - 1 // code index; none at t = 0
	g.drawSchedule(screen, float32(x0), float32(by), float32(barW), 70, mark)

	signal, noise := 1.0, 0.0
	if f.t > 0 {
		ab := g.sched.AlphaBar[f.t-1]
		signal, noise = math.Sqrt(ab), math.Sqrt(1-ab)
	}
	setLabels(
		label{"status", x0, f.top + 6, fmt.Sprintf("forward process q(xₜ | x₀) · t = %d", f.t)},
		label{"fx0", x0, y0 - 19, "x₀"},
		label{"fxt", x0 + half, y0 - 19, fmt.Sprintf("xₜ = %.3f·x₀ + %.3f·ε", signal, noise)},
		label{"strip", x0, sy - 19, fmt.Sprintf("t = 1, %d, %d, …, %d (the same ε)", f.T/10, 2*f.T/10, f.T)},
		label{"caption", x0, by + 72, `<span class="signal">signal √ᾱₜ</span> <span class="noise">noise √(1−ᾱₜ)</span>`},
	)
	js.Global().Get("ddpmTimes").Set("forwardDraw", float64(time.Since(start).Microseconds())/1000)
	idle()
}
