//go:build js && wasm

package main

import (
	"fmt"
	"image"
	"image/color"
	"math"
	"sync"
	"syscall/js"

	"github.com/ddpm-go/ddpm/ddpm"
	"github.com/ddpm-go/ddpm/wasm/jsfloat"
	"github.com/hajimehoshi/ebiten/v2"
	"github.com/hajimehoshi/ebiten/v2/vector"
)

// frame is one denoising step as the page hands it over.
type frame struct {
	n, cols, size   int
	index, total, t int
	done, showX0    bool
	left, top       float64 // room the page's controls take
	x, x0           []float32
	schedule        string
	T               int
}

// Game draws the latest frame. ddpmShow runs on the JavaScript event loop,
// ebiten's Update and Draw on their own schedule: the mutex keeps them apart.
type Game struct {
	mu     sync.Mutex
	cur    frame
	dirty  bool
	grid   *ebiten.Image // x_t at one pixel per pixel
	grid0  *ebiten.Image // x̂_0
	pix    []byte
	sched  *ddpm.Schedule
	plot   *ebiten.Image // the schedule's curves and caption, drawn once per size
	frames int
	drawn  image.Point // screen size of the last full draw

	view    int     // what Draw shows: viewSteps or viewForward
	fwd     forward // the forward view's digit and t
	fwdDraw forwardImages
}

const (
	viewSteps   = iota // the reverse process's steps (show)
	viewForward        // the forward process of one digit (showForward)
)

func newGame() *Game { return &Game{} }

func (g *Game) show(v js.Value) {
	f := frame{
		n: v.Get("n").Int(), cols: v.Get("cols").Int(), size: v.Get("size").Int(),
		index: v.Get("index").Int(), total: v.Get("total").Int(), t: v.Get("t").Int(),
		done: v.Get("done").Bool(), showX0: v.Get("showX0").Bool(),
		left: v.Get("left").Float(), top: v.Get("top").Float(),
		schedule: v.Get("schedule").String(), T: v.Get("T").Int(),
	}
	f.x = jsfloat.Copy(v.Get("x"))
	f.x0 = jsfloat.Copy(v.Get("x0"))
	if f.n < 1 || f.cols < 1 || f.size < 1 || len(f.x) != f.n*f.size*f.size || len(f.x0) != len(f.x) {
		return
	}
	g.mu.Lock()
	g.cur, g.dirty, g.view = f, true, viewSteps
	g.mu.Unlock()
	wake()
}

// A finished page should cost nothing, and a page whose Draw returns at once
// still cost 1.7 CPU-seconds per 10 s in Chromium: ebiten calls Update and
// Draw on every animation frame. So after the last step the game idles:
// ebiten's FPSModeVsyncOffMinimum calls them only on input or ScheduleFrame
// (deprecated in favour of SetScreenClearedEveryFrame(false), which this
// program also sets, but that alone does not stop the calls), and the page
// parks ebiten's animation-frame requests (window.ddpmIdle, web/app.js).
func idle() {
	ebiten.SetFPSMode(ebiten.FPSModeVsyncOffMinimum)
	js.Global().Set("ddpmIdle", true)
}

// wake draws again on every animation frame, starting with the next one.
func wake() {
	ebiten.SetFPSMode(ebiten.FPSModeVsyncOn)
	ebiten.ScheduleFrame()
	if f := js.Global().Get("ddpmWake"); f.Type() == js.TypeFunction {
		f.Invoke()
	}
}

// Update implements ebiten.Game.
func (g *Game) Update() error { return nil }

// Draw implements ebiten.Game.
func (g *Game) Draw(screen *ebiten.Image) {
	g.mu.Lock()
	f, dirty, view, fw := g.cur, g.dirty, g.view, g.fwd
	g.dirty = false
	g.mu.Unlock()
	g.frames++
	js.Global().Set("ddpmFrames", g.frames)
	if g.frames == 1 {
		js.Global().Get("ddpmTimes").Set("firstFrame", js.Global().Get("performance").Call("now"))
	}
	size := screen.Bounds().Size()
	if !dirty && size == g.drawn {
		return // nothing new: the screen keeps the last frame, and ebiten skips presenting it
	}
	g.drawn = size
	if view == viewForward {
		g.drawForward(screen, fw)
		return
	}
	screen.Fill(color.RGBA{0x16, 0x18, 0x1d, 0xff})
	if f.n == 0 {
		setLabels(label{"status", f.left + 16, f.top + 6, "loading…"})
		return
	}
	if dirty {
		g.grid = g.render(g.grid, f.x, f.n, f.cols, f.size)
		if f.showX0 {
			g.grid0 = g.render(g.grid0, f.x0, f.n, f.cols, f.size)
		}
		g.useSchedule(f.schedule, f.T)
	}
	sw, sh := screen.Bounds().Dx(), screen.Bounds().Dy()
	x0, y0 := f.left+16, f.top+40
	availW, availH := float64(sw)-x0-4, float64(sh)-y0-110
	panels := 1.0
	if f.showX0 {
		panels = 2
	}
	gw, gh := float64(g.grid.Bounds().Dx()), float64(g.grid.Bounds().Dy())
	scale := math.Max(1, math.Floor(math.Min((availW-16*(panels-1))/panels/gw, availH/gh)))
	draw := func(img *ebiten.Image, x float64) {
		op := &ebiten.DrawImageOptions{}
		op.GeoM.Scale(scale, scale)
		op.GeoM.Translate(x, y0)
		screen.DrawImage(img, op)
	}
	status := fmt.Sprintf("step %d / %d · t = %d", f.index, f.total, f.t+1)
	if f.done {
		status = fmt.Sprintf("done: %d steps", f.total)
	}
	labels := []label{{"status", x0, f.top + 6, status}, {"xt", x0, y0 - 19, "xₜ"}}
	draw(g.grid, x0)
	if f.showX0 {
		draw(g.grid0, x0+gw*scale+16)
		labels = append(labels, label{"x0", x0 + gw*scale + 16, y0 - 19, "predicted x̂₀"})
	}
	// Progress bar.
	by := float32(y0 + gh*scale + 14)
	barW := float32(math.Max(gw*scale*panels, 200))
	vector.DrawFilledRect(screen, float32(x0), by, barW, 6, color.RGBA{0x3a, 0x3f, 0x4b, 0xff}, false)
	vector.DrawFilledRect(screen, float32(x0), by, barW*float32(f.index)/float32(max(f.total, 1)), 6, color.RGBA{0x6c, 0xb6, 0xff, 0xff}, false)
	mark := f.t
	if f.done {
		mark = -1
	}
	g.drawSchedule(screen, float32(x0), by+16, barW, 70, mark)
	labels = append(labels, label{"caption", x0, float64(by) + 16 + 72, `<span class="signal">signal √ᾱₜ</span> <span class="noise">noise √(1−ᾱₜ)</span>`})
	setLabels(labels...)
	if f.done {
		idle()
	}
}

// useSchedule makes g.sched the named schedule of T steps.
func (g *Game) useSchedule(kind string, T int) {
	if g.sched == nil || g.sched.T() != T || g.sched.Kind != kind {
		s, err := ddpm.NewSchedule(kind, T)
		if err != nil { // the worker loaded it, so this does not happen; keep the last one
			return
		}
		g.sched, g.plot = s, nil
	}
}

// drawSchedule plots √ᾱ_t (signal) and √(1−ᾱ_t) (noise) over t with the
// timestep mark (a code index, 0..T−1; none when outside) marked.
func (g *Game) drawSchedule(screen *ebiten.Image, x, y, w, h float32, mark int) {
	if g.sched == nil {
		return
	}
	T := g.sched.T()
	px := func(t int) float32 { return w * float32(t) / float32(T-1) }
	pw, ph := int(w)+2, int(h)+18
	if g.plot == nil || g.plot.Bounds().Dx() != pw || g.plot.Bounds().Dy() != ph {
		g.plot = ebiten.NewImage(pw, ph)
		py := func(v float64) float32 { return h - h*float32(v) }
		vector.StrokeRect(g.plot, 0.5, 0.5, w, h, 1, color.RGBA{0x3a, 0x3f, 0x4b, 0xff}, false)
		var signal, noise vector.Path
		signal.MoveTo(px(0), py(math.Sqrt(g.sched.AlphaBar[0])))
		noise.MoveTo(px(0), py(math.Sqrt(1-g.sched.AlphaBar[0])))
		for t := 1; t < T; t += max(1, T/200) {
			signal.LineTo(px(t), py(math.Sqrt(g.sched.AlphaBar[t])))
			noise.LineTo(px(t), py(math.Sqrt(1-g.sched.AlphaBar[t])))
		}
		stroke(g.plot, &signal, 1.5, color.RGBA{0xff, 0xd2, 0x6c, 0xff})
		stroke(g.plot, &noise, 1.5, color.RGBA{0x9a, 0x9a, 0xa8, 0xff})
	}
	op := &ebiten.DrawImageOptions{}
	op.GeoM.Translate(float64(x), float64(y))
	screen.DrawImage(g.plot, op)
	if mark >= 0 && mark < T {
		mx := x + px(mark)
		vector.StrokeLine(screen, mx, y, mx, y+h, 1.5, color.RGBA{0x6c, 0xb6, 0xff, 0xff}, false)
		// The two weights at the mark: where x_t's signal and noise stand.
		ab := g.sched.AlphaBar[mark]
		vector.DrawFilledCircle(screen, mx, y+h-h*float32(math.Sqrt(ab)), 3.5, color.RGBA{0xff, 0xd2, 0x6c, 0xff}, true)
		vector.DrawFilledCircle(screen, mx, y+h-h*float32(math.Sqrt(1-ab)), 3.5, color.RGBA{0x9a, 0x9a, 0xa8, 0xff}, true)
	}
}

// A label is text the page sets in HTML over the canvas (the page's own
// fonts, Unicode, crisp at any zoom) at canvas position x, y.
type label struct {
	id   string
	x, y float64
	html string
}

// setLabels hands the labels of a drawn frame to the page (web/app.js).
func setLabels(ls ...label) {
	arr := make([]any, len(ls))
	for i, l := range ls {
		arr[i] = map[string]any{"id": l.id, "x": l.x, "y": l.y, "html": l.html}
	}
	if f := js.Global().Get("ddpmLabels"); f.Type() == js.TypeFunction {
		f.Invoke(arr)
	}
}

// whitePixel is the source image for drawing triangles in one colour.
var whitePixel = func() *ebiten.Image {
	img := ebiten.NewImage(3, 3)
	img.Fill(color.White)
	return img.SubImage(image.Rect(1, 1, 2, 2)).(*ebiten.Image)
}()

// stroke draws path as one antialiased line of the given width and colour.
func stroke(dst *ebiten.Image, path *vector.Path, width float32, c color.RGBA) {
	vs, is := path.AppendVerticesAndIndicesForStroke(nil, nil, &vector.StrokeOptions{Width: width, LineJoin: vector.LineJoinRound})
	r, g, b, a := float32(c.R)/255, float32(c.G)/255, float32(c.B)/255, float32(c.A)/255
	for i := range vs {
		vs[i].SrcX, vs[i].SrcY = 1, 1
		vs[i].ColorR, vs[i].ColorG, vs[i].ColorB, vs[i].ColorA = r, g, b, a
	}
	dst.DrawTriangles(vs, is, whitePixel, &ebiten.DrawTrianglesOptions{AntiAlias: true})
}

// render writes n images in [−1, 1], size×size each, into a grid image of
// cols columns (white ink on black).
func (g *Game) render(dst *ebiten.Image, x []float32, n, cols, size int) *ebiten.Image {
	rows := (n + cols - 1) / cols
	const pad = 2
	w, h := cols*(size+pad)-pad, rows*(size+pad)-pad
	if dst == nil || dst.Bounds().Dx() != w || dst.Bounds().Dy() != h {
		dst = ebiten.NewImage(w, h)
	}
	if len(g.pix) != 4*w*h {
		g.pix = make([]byte, 4*w*h)
	}
	for i := range g.pix {
		g.pix[i] = 0x2a
		if i%4 == 3 {
			g.pix[i] = 0xff
		}
	}
	for i := 0; i < n; i++ {
		ox, oy := (i%cols)*(size+pad), (i/cols)*(size+pad)
		img := x[i*size*size : (i+1)*size*size]
		for y := 0; y < size; y++ {
			for xx := 0; xx < size; xx++ {
				v := uint8(max(0, min(255, (img[y*size+xx]+1)*127.5+0.5)))
				o := 4 * ((oy+y)*w + ox + xx)
				g.pix[o], g.pix[o+1], g.pix[o+2], g.pix[o+3] = v, v, v, 0xff
			}
		}
	}
	dst.WritePixels(g.pix)
	return dst
}

// Layout implements ebiten.Game: one screen pixel per CSS pixel.
func (g *Game) Layout(w, h int) (int, int) { return w, h }
