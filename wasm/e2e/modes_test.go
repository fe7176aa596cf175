package e2e

import (
	"context"
	"fmt"
	"image"
	"image/png"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/chromedp"
	"github.com/ddpm-go/ddpm/ddpm"
	"github.com/ddpm-go/ddpm/ddpm/nn"
	"github.com/ddpm-go/ddpm/ddpm/unet"
)

// open loads a page and waits until expr holds, failing on a page error.
func open(t *testing.T, ctx context.Context, url, expr string) {
	t.Helper()
	if _, err := chromedp.Run(ctx, chromedp.Navigate(url)); err != nil {
		t.Fatal(err)
	}
	if err := waitFor(ctx, "("+expr+") || window.ddpmError !== null", 120*time.Second); err != nil {
		t.Fatal(err)
	}
	if e := eval[any](t, ctx, "window.ddpmError"); e != nil {
		t.Fatalf("page error: %v", e)
	}
}

// rect returns an element's box in page pixels.
func rect(t *testing.T, ctx context.Context, selector string) image.Rectangle {
	t.Helper()
	r := eval[[]float64](t, ctx, fmt.Sprintf(`(() => { const r = document.querySelector(%q).getBoundingClientRect(); return [r.left, r.top, r.right, r.bottom]; })()`, selector))
	return image.Rect(int(r[0]), int(r[1]), int(r[2]), int(r[3]))
}

// drag presses the left button at the first point, moves through the
// others and releases it: what a mouse, and through pointer events a pen
// or a finger, does to draw a stroke.
func drag(t *testing.T, ctx context.Context, kind input.DispatchMouseEventPointerType, pts ...[2]float64) {
	t.Helper()
	held := func(p *input.DispatchMouseEventParams) {
		p.Button, p.Buttons, p.ClickCount, p.PointerType = input.MouseButtonLeft, 1, 1, kind
	}
	acts := []chromedp.Action[chromedp.Void]{chromedp.MouseEvent(input.DispatchMouseEventTypeMousePressed, pts[0][0], pts[0][1], held)}
	for _, p := range pts[1:] {
		acts = append(acts, chromedp.MouseEvent(input.DispatchMouseEventTypeMouseMoved, p[0], p[1], held))
	}
	last := pts[len(pts)-1]
	acts = append(acts, chromedp.MouseEvent(input.DispatchMouseEventTypeMouseReleased, last[0], last[1], held))
	if err := chromedp.Do(ctx, acts...); err != nil {
		t.Fatal(err)
	}
}

// swipe is drag for a finger: touch events, which the browser turns into
// pointer events of type "touch".
func swipe(t *testing.T, ctx context.Context, pts ...[2]float64) {
	t.Helper()
	id := 1.0
	at := func(p [2]float64) []*input.TouchPoint { return []*input.TouchPoint{{X: p[0], Y: p[1], ID: &id}} }
	send := func(typ input.DispatchTouchEventType, tps []*input.TouchPoint) {
		if _, err := chromedp.Call(ctx, input.DispatchTouchEvent, input.DispatchTouchEventParams{Type: typ, TouchPoints: tps}); err != nil {
			t.Fatal(err)
		}
	}
	send(input.DispatchTouchEventTypeTouchStart, at(pts[0]))
	for _, p := range pts[1:] {
		send(input.DispatchTouchEventTypeTouchMove, at(p))
	}
	send(input.DispatchTouchEventTypeTouchEnd, []*input.TouchPoint{})
}

// TestForwardMode draws a stroke on the pad with pointer events and checks
// the pad holds it, then scrubs the t slider: the drawn x_t gets rougher
// with every larger t, and each move is drawn (with its main-thread time
// logged; set DDPM_SCREENSHOT_FORWARD to keep the screenshot at t = 200).
func TestForwardMode(t *testing.T) {
	ctx := browser(t)
	srv := server(t)
	open(t, ctx, srv.URL+"/index.html?mode=forward&test=3&seed=5&t=0", "window.ddpmPreviewT === 0 && window.ddpmTimes.forwardDraw !== undefined")

	// Horizontal strokes across a cleared pad: a mouse's at row 8, a pen's
	// at row 16, a finger's at row 24.
	eval[any](t, ctx, "document.getElementById('clearPad').click()")
	pad := rect(t, ctx, "#pad")
	cell := float64(pad.Dx()-2) / 32 // inside the 1-px border
	row := func(r int) [][2]float64 {
		var pts [][2]float64
		for c := 6; c <= 26; c += 2 {
			pts = append(pts, [2]float64{float64(pad.Min.X+1) + (float64(c)+0.5)*cell, float64(pad.Min.Y+1) + (float64(r)+0.5)*cell})
		}
		return pts
	}
	drag(t, ctx, input.DispatchMouseEventPointerTypeMouse, row(8)...)
	drag(t, ctx, input.DispatchMouseEventPointerTypePen, row(16)...)
	swipe(t, ctx, row(24)...)
	img := eval[map[string][]float64](t, ctx, "window.ddpmPad()")["image"]
	for _, r := range []int{8, 16, 24} {
		for c := 6; c <= 26; c++ {
			if v := img[r*32+c]; v < 0.9 {
				t.Errorf("pad pixel (%d, %d) on a stroke is %.2f, want ink (1)", c, r, v)
			}
		}
	}
	for _, p := range [][2]int{{16, 2}, {16, 12}, {16, 20}, {16, 29}, {2, 16}, {30, 16}} {
		if v := img[p[1]*32+p[0]]; v != -1 {
			t.Errorf("pad pixel %v off the strokes is %.2f, want background (−1)", p, v)
		}
	}

	// Scrub: x_t's roughness grows with t. From t ≈ 300 on, x_t is mostly
	// noise that the screen clips to black and white, and its roughness
	// levels off: there it may only stay within 3% of the last value.
	open(t, ctx, srv.URL+"/index.html?mode=forward&test=3&seed=5&t=0", "window.ddpmPreviewT === 0 && window.ddpmTimes.forwardDraw !== undefined")
	prev := -1.0
	for _, tt := range []int{0, 20, 50, 100, 200, 400, 700, 1000} {
		n := eval[float64](t, ctx, "window.ddpmFrames")
		eval[any](t, ctx, fmt.Sprintf("(() => { const s = document.getElementById('t'); s.value = %d; s.dispatchEvent(new Event('input')); })()", tt))
		if err := waitFor(ctx, fmt.Sprintf("window.ddpmPreviewT === %d && window.ddpmFrames > %v", tt, n), 10*time.Second); err != nil {
			t.Fatal(err)
		}
		time.Sleep(150 * time.Millisecond)
		// x_t is the right one of the two large tiles; its label sits 19 px above it.
		x0, xt := rect(t, ctx, "#label-fx0"), rect(t, ctx, "#label-fxt")
		side := (xt.Min.X - x0.Min.X) * 32 / 34
		tile := image.Rect(xt.Min.X, xt.Min.Y+19, xt.Min.X+side, xt.Min.Y+19+side)
		shot := ""
		if tt == 200 {
			shot = os.Getenv("DDPM_SCREENSHOT_FORWARD")
		}
		r := roughness(screenshot(t, ctx, shot), tile, side/32) // neighbouring pixels of x_t
		call, draw := eval[float64](t, ctx, "window.ddpmTimes.forwardCall"), eval[float64](t, ctx, "window.ddpmTimes.forwardDraw")
		t.Logf("t = %4d: roughness of x_t %.1f (main thread: %.2f ms in ddpmForward, %.2f ms drawing)", tt, r, call, draw)
		if (tt <= 200 && r <= prev) || r < 0.97*prev {
			t.Errorf("t = %d: x_t's roughness %.2f against the last t's %.2f: not growing with t", tt, r, prev)
		}
		prev = r
	}
}

// nativeEdit runs an edit with the library: the whole batch in one process,
// the page's parameters.
func nativeEdit(t *testing.T, kind string, seed uint64, steps, n int, guidance float64, e ddpm.Edit) []float32 {
	m, meta, err := unet.Load(filepath.Join(webDir, "weights", "mnist.safetensors"), nn.CPU{})
	if err != nil {
		t.Fatal(err)
	}
	s, _ := unet.ScheduleOf(meta)
	smp, err := ddpm.NewSamplerFrom(kind, s, steps, 0, e.From)
	if err != nil {
		t.Fatal(err)
	}
	labels := make([]int, n)
	for i := range labels {
		labels[i] = m.Config.NullLabel()
	}
	p, err := ddpm.NewEditProcess(&ddpm.Guided{Model: m, Scale: guidance, NullLabel: m.Config.NullLabel()}, smp, s, n, labels, ddpm.NewRNG(seed), e)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Run(nil); err != nil {
		t.Fatal(err)
	}
	return p.X
}

// TestEditModesLikeNative runs the denoise and inpaint modes on the page
// (two workers) and the same edits with the library: the numbers agree, and
// inpainting keeps the pixels it was not asked to fill in (set
// DDPM_SCREENSHOT_DENOISE and DDPM_SCREENSHOT_INPAINT to keep screenshots).
func TestEditModesLikeNative(t *testing.T) {
	ctx := browser(t)
	srv := server(t)
	for _, c := range []struct{ mode, query string }{
		{"denoise", "t=400"},
		{"inpaint", "erase=top"},
	} {
		t.Run(c.mode, func(t *testing.T) {
			const seed, steps, grid = 3, 10, 3
			open(t, ctx, fmt.Sprintf("%s/index.html?mode=%s&%s&test=17&seed=%d&steps=%d&grid=%d&guidance=2&workers=2", srv.URL, c.mode, c.query, seed, steps, grid), "window.ddpmDone")
			start := eval[map[string]any](t, ctx, "({init: Array.from(window.ddpmStart.init), mask: window.ddpmStart.mask ? Array.from(window.ddpmStart.mask) : null, from: window.ddpmStart.from})")
			e := ddpm.Edit{Image: floats(start["init"]), From: int(start["from"].(float64))}
			if start["mask"] != nil {
				e.Mask = floats(start["mask"])
			}
			// What ran is what the URL asked for: test digit 17, t = 400, the top half erased.
			if want := testDigit(t, 17); !slices.Equal(e.Image, want) {
				t.Fatal("the page did not start from test digit 17 of digits.png")
			}
			if c.mode == "denoise" && e.From != 400 {
				t.Fatalf("denoise started from t = %d, want 400", e.From)
			}
			if c.mode == "inpaint" {
				for i, m := range e.Mask {
					if want := float32(min(1, i/(16*32))); m != want {
						t.Fatalf("mask pixel (%d, %d) is %v, want %v (the top half erased)", i%32, i/32, m, want)
					}
				}
			}
			time.Sleep(300 * time.Millisecond) // let a frame show the last step
			screenshot(t, ctx, os.Getenv("DDPM_SCREENSHOT_"+strings.ToUpper(c.mode)))
			got := eval[[]float64](t, ctx, "Array.from(window.ddpmResult)")
			want := nativeEdit(t, "dpmpp2m", seed, steps, grid*grid, 2, e)
			if len(got) != len(want) {
				t.Fatalf("page returned %d values, want %d", len(got), len(want))
			}
			var worst float64
			for i, v := range want {
				worst = math.Max(worst, math.Abs(got[i]-float64(v)))
			}
			t.Logf("%s from t = %d (%d pixels kept): page vs native max abs difference %.2g", c.mode, e.From, count(e.Mask), worst)
			if worst > 1e-4 {
				t.Errorf("page differs from native by up to %.3g", worst)
			}
			if e.Mask == nil {
				return
			}
			if k := count(e.Mask); k == 0 || k == len(e.Mask) {
				t.Fatalf("the mask keeps %d of %d pixels: nothing to inpaint", k, len(e.Mask))
			}
			for i := range grid * grid {
				for j, m := range e.Mask {
					if m == 1 && got[i*len(e.Mask)+j] != float64(e.Image[j]) {
						t.Fatalf("digit %d: kept pixel %d is %v, want %v", i, j, got[i*len(e.Mask)+j], e.Image[j])
					}
				}
			}
		})
	}
}

// testDigit returns shipped test digit i (web/digits.png: class i%10 in row
// i%10, the (i/10)-th of its class) in [−1, 1], as the page reads it.
func testDigit(t *testing.T, i int) []float32 {
	f, err := os.Open(filepath.Join(webDir, "digits.png"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	out := make([]float32, 32*32)
	ox, oy := (i/10)*32, (i%10)*32
	for y := range 32 {
		for x := range 32 {
			c, _, _, _ := img.At(ox+x, oy+y).RGBA()
			out[y*32+x] = float32(float64(c>>8)/127.5 - 1)
		}
	}
	return out
}

func floats(v any) []float32 {
	a := v.([]any)
	out := make([]float32, len(a))
	for i, x := range a {
		out[i] = float32(x.(float64))
	}
	return out
}

func count(mask []float32) int {
	n := 0
	for _, m := range mask {
		if m == 1 {
			n++
		}
	}
	return n
}

// TestModesInIframes embeds each explore mode in a page of its own iframe,
// as a blog post would (set DDPM_SCREENSHOT_MODES to keep a screenshot).
func TestModesInIframes(t *testing.T) {
	ctx := browser(t)
	srv := server(t)
	mux := srv.Config.Handler.(*http.ServeMux)
	mux.HandleFunc("/modes-example.html", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, `<!doctype html><body style="margin:0;background:#fff">
<iframe id="forward" src="embed.html?mode=forward&test=5&t=300&seed=2" width="620" height="460" style="border:0"></iframe>
<iframe id="denoise" src="embed.html?mode=denoise&test=8&t=500&seed=2&grid=3&workers=1" width="620" height="460" style="border:0"></iframe>
<iframe id="inpaint" src="embed.html?mode=inpaint&test=9&erase=top&seed=2&grid=3&workers=1" width="620" height="460" style="border:0"></iframe>
</body>`)
	})
	if _, err := chromedp.Run(ctx, chromedp.Navigate(srv.URL+"/modes-example.html")); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ id, done string }{
		{"forward", "ddpmPreviewT === 300 && w.ddpmTimes.forwardDraw !== undefined"},
		{"denoise", "ddpmDone === true"},
		{"inpaint", "ddpmDone === true"},
	} {
		w := fmt.Sprintf("document.getElementById(%q).contentWindow", c.id)
		expr := fmt.Sprintf("(() => { const w = %s; return w.%s || (w.ddpmError || null) !== null; })()", w, c.done)
		if err := waitFor(ctx, expr, 120*time.Second); err != nil {
			t.Fatalf("%s: %v", c.id, err)
		}
		if e := eval[any](t, ctx, w+".ddpmError"); e != nil {
			t.Fatalf("%s: page error: %v", c.id, e)
		}
		if !eval[bool](t, ctx, w+".document.getElementById('pad') !== null") {
			t.Errorf("%s: the embedded page has no drawing pad", c.id)
		}
	}
	time.Sleep(300 * time.Millisecond)
	if p := os.Getenv("DDPM_SCREENSHOT_MODES"); p != "" {
		screenshot(t, ctx, p)
	}
}

// TestModeMenu switches index.html between the modes in place with its Mode
// menu: a switch in the middle of a run drops it, each mode runs what it
// runs, and the URL follows.
func TestModeMenu(t *testing.T) {
	ctx := browser(t)
	srv := server(t)
	open(t, ctx, srv.URL+"/index.html?seed=4&grid=2&workers=2&delay=300", "window.ddpmSteps >= 1")
	choose := func(m string) {
		eval[any](t, ctx, fmt.Sprintf("(() => { const s = document.querySelector('select[name=mode]'); s.value = %q; s.dispatchEvent(new Event('change', {bubbles: true})); })()", m))
	}
	visible := func(id string) bool {
		return eval[bool](t, ctx, fmt.Sprintf("(() => { const e = document.getElementById(%q); return !!e && !e.hidden; })()", id))
	}
	wait := func(expr string) {
		t.Helper()
		if err := waitFor(ctx, "("+expr+") || window.ddpmError !== null", 60*time.Second); err != nil {
			t.Fatal(err)
		}
		if e := eval[any](t, ctx, "window.ddpmError"); e != nil {
			t.Fatalf("page error: %v", e)
		}
	}

	// Forward in the middle of a slow sampling: the run stops and stays off the screen.
	choose("forward")
	wait("window.ddpmPreviewT !== undefined")
	steps := eval[float64](t, ctx, "window.ddpmSteps")
	time.Sleep(1200 * time.Millisecond)
	if now := eval[float64](t, ctx, "window.ddpmSteps"); now != steps || !visible("label-fxt") || visible("label-xt") {
		t.Errorf("after switching to forward mid-run: steps %v → %v, forward view shown %v, steps view shown %v", steps, now, visible("label-fxt"), visible("label-xt"))
	}
	if v := eval[bool](t, ctx, "getComputedStyle(document.querySelector('select[name=sampler]').closest('label')).display === 'none'"); !v {
		t.Error("forward mode still shows the sampler menu")
	}

	choose("denoise")
	wait("window.ddpmDone && window.ddpmStart.from === 500 && window.ddpmStart.mask === undefined")
	if d := eval[string](t, ctx, "document.querySelector('select[name=digit]').value"); d != "none" {
		t.Errorf("the digit menu says %q in denoise mode, want none (no label) by default", d)
	}
	choose("inpaint")
	wait("window.ddpmDone && window.ddpmStart.mask !== undefined")
	if kept := eval[float64](t, ctx, "Array.from(window.ddpmStart.mask).filter((m) => m === 1).length"); kept != 512 {
		t.Errorf("inpaint mode started with %v of 1024 pixels kept, want the bottom half (512)", kept)
	}
	choose("denoise") // the mask is inpaint's alone
	wait("window.ddpmDone && window.ddpmStart.mask === undefined")
	if kept := eval[float64](t, ctx, "window.ddpmPad().mask.filter((m) => m === 1).length"); kept != 1024 {
		t.Errorf("back in denoise mode the pad still has %v of 1024 pixels erased", 1024-kept)
	}
	choose("sample")
	wait("window.ddpmDone && window.ddpmStart.init === undefined")
	if d := eval[string](t, ctx, "document.querySelector('select[name=digit]').value"); d != "mix" {
		t.Errorf("the digit menu says %q back in sample mode, want mix again", d)
	}
	if u := eval[string](t, ctx, "location.search"); !strings.Contains(u, "mode=sample") {
		t.Errorf("the URL does not follow the menu: %s", u)
	}
}
