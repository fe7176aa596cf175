// Package e2e tests the browser demo in a real headless Chromium: the page
// built by ./build.sh is served from a local test server and driven with
// chromedp.
package e2e

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/png"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/ddpm-go/ddpm/ddpm"
	"github.com/ddpm-go/ddpm/ddpm/nn"
	"github.com/ddpm-go/ddpm/ddpm/safetensors"
	"github.com/ddpm-go/ddpm/ddpm/unet"
)

const webDir = "../../web"

// browser starts headless Chromium and returns a context for it.
func browser(t testing.TB) context.Context {
	t.Helper()
	path := os.Getenv("CHROME")
	if path == "" {
		for _, p := range []string{"chromium", "chromium-browser", "google-chrome"} {
			if q, err := exec.LookPath(p); err == nil {
				path = q
				break
			}
		}
	}
	if path == "" {
		// A skip would still print ok: fail unless skipping was asked for.
		if os.Getenv("DDPM_SKIP_BROWSER") == "" {
			t.Fatal("no Chromium found for the browser tests: apt-get install chromium (.ci/run does), set CHROME to a Chrome binary, or set DDPM_SKIP_BROWSER=1 to skip them")
		}
		t.Skip("no Chromium found: DDPM_SKIP_BROWSER is set")
	}
	if _, err := os.Stat(filepath.Join(webDir, "main.wasm")); err != nil {
		t.Fatal("web/main.wasm is missing: run ./build.sh first")
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(path), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun,
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true), chromedp.Flag("enable-unsafe-swiftshader", true),
		chromedp.UserDataDir(t.TempDir()), chromedp.WindowSize(1100, 760),
	}
	actx, cancel := chromedp.NewExecAllocator(context.Background(), opts...)
	t.Cleanup(cancel)
	ctx, cancel2 := chromedp.NewContext(actx)
	t.Cleanup(cancel2)
	if _, err := chromedp.Run(ctx, chromedp.Navigate("about:blank")); err != nil {
		t.Fatalf("starting %s: %v", path, err)
	}
	return ctx
}

// server serves web/ and a corrupt weights file on 127.0.0.1.
func server(t testing.TB) *httptest.Server {
	mux := http.NewServeMux()
	mux.Handle("/", http.FileServer(http.Dir(webDir)))
	mux.HandleFunc("/corrupt.safetensors", func(w http.ResponseWriter, r *http.Request) {
		b, _ := os.ReadFile(filepath.Join(webDir, "weights", "mnist.safetensors"))
		w.Write(b[:len(b)/2]) // truncated
	})
	// The small network's tensors under a config with 100 levels, which once
	// panicked inside the worker and left the page on "loading..." forever.
	mux.HandleFunc("/hostile.safetensors", func(w http.ResponseWriter, r *http.Request) {
		f, err := safetensors.ReadFile(filepath.Join(webDir, "weights", "mnist-small.safetensors"))
		if err != nil {
			http.Error(w, err.Error(), 500)
			return
		}
		f.Metadata[unet.MetaConfig] = `{"image_size":32,"in_channels":1,"channels":8,"channel_mults":[` + strings.Repeat("1,", 99) + `1],"num_res_blocks":1,"attention":true,"groups":2,"num_classes":10}`
		safetensors.Encode(w, f.Metadata, f.Tensors)
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

// waitFor polls a JavaScript expression until it is true.
func waitFor(ctx context.Context, expr string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](expr))
		if err != nil {
			return err
		}
		if ok {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("timed out after %v waiting for %s", timeout, expr)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func eval[T any](t testing.TB, ctx context.Context, expr string) T {
	t.Helper()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr))
	if err != nil {
		t.Fatalf("%s: %v", expr, err)
	}
	return v
}

func screenshot(t *testing.T, ctx context.Context, save string) image.Image {
	t.Helper()
	b, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if err != nil {
		t.Fatal(err)
	}
	if save != "" {
		os.WriteFile(save, b, 0o644)
	}
	img, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	return img
}

// roughness is the mean absolute brightness difference between pixels step
// apart in r: high for noise, low for images with smooth strokes.
func roughness(img image.Image, r image.Rectangle, step int) float64 {
	var sum float64
	n := 0
	gray := func(x, y int) float64 { c, _, _, _ := img.At(x, y).RGBA(); return float64(c >> 8) }
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x+step < r.Max.X; x++ {
			sum += math.Abs(gray(x, y) - gray(x+step, y))
			n++
		}
	}
	return sum / float64(n)
}

// native computes the same samples with the library, as cmd/sample does.
func native(t *testing.T, weights, kind string, seed uint64, steps, n int, guidance float64) []float32 {
	m, meta, err := unet.Load(filepath.Join(webDir, "weights", weights), nn.CPU{})
	if err != nil {
		t.Fatal(err)
	}
	s, _ := unet.ScheduleOf(meta)
	sampler, err := ddpm.NewSampler(kind, s, steps, 0)
	if err != nil {
		t.Fatal(err)
	}
	labels := make([]int, n)
	for i := range labels {
		labels[i] = i % 10
	}
	x, err := ddpm.Sample(&ddpm.Guided{Model: m, Scale: guidance, NullLabel: m.Config.NullLabel()}, sampler, n, m.Config.Pixels(), labels, ddpm.NewRNG(seed))
	if err != nil {
		t.Fatal(err)
	}
	return x
}

// TestPageSamplesLikeNative samples on the page with each shipped network
// (the full default and ?model=small) and two samplers, and checks the result
// against the library's: frames advance while sampling and stop after it, the
// canvas goes from noise to strokes, and the numbers are the native ones.
func TestPageSamplesLikeNative(t *testing.T) {
	for _, c := range []struct{ model, weights, sampler, mid, end string }{
		{"full", "mnist.safetensors", "dpmpp2m", "DDPM_SCREENSHOT_MID", "DDPM_SCREENSHOT_END"},
		{"small", "mnist-small.safetensors", "ddim", "", ""},
	} {
		t.Run(c.model+"/"+c.sampler, func(t *testing.T) {
			pageSamplesLikeNative(t, c.model, c.weights, c.sampler, os.Getenv(c.mid), os.Getenv(c.end))
		})
	}
}

func pageSamplesLikeNative(t *testing.T, model, weights, sampler, midPNG, endPNG string) {
	ctx := browser(t)
	srv := server(t)
	const seed, steps, grid = 7, 12, 4
	url := fmt.Sprintf("%s/index.html?model=%s&seed=%d&sampler=%s&steps=%d&grid=%d&guidance=2&digit=mix&workers=2&delay=60", srv.URL, model, seed, sampler, steps, grid)
	if _, err := chromedp.Run(ctx, chromedp.Navigate(url)); err != nil {
		t.Fatal(err)
	}
	if err := waitFor(ctx, "window.ddpmSteps >= 2 || window.ddpmError !== null", 60*time.Second); err != nil {
		t.Fatal(err)
	}
	if e := eval[any](t, ctx, "window.ddpmError"); e != nil {
		t.Fatalf("page error: %v", e)
	}
	f1 := eval[float64](t, ctx, "window.ddpmFrames")
	mid := screenshot(t, ctx, midPNG)
	time.Sleep(300 * time.Millisecond)
	f2 := eval[float64](t, ctx, "window.ddpmFrames")
	if f2 <= f1 {
		t.Errorf("frames did not advance while sampling (%v → %v)", f1, f2)
	}
	if err := waitFor(ctx, "window.ddpmDone || window.ddpmError !== null", 120*time.Second); err != nil {
		t.Fatal(err)
	}
	if e := eval[any](t, ctx, "window.ddpmError"); e != nil {
		t.Fatalf("page error: %v", e)
	}
	time.Sleep(300 * time.Millisecond) // let a frame show the final step
	end := screenshot(t, ctx, endPNG)
	// A finished page draws nothing more until something changes.
	f3 := eval[float64](t, ctx, "window.ddpmFrames")
	time.Sleep(time.Second)
	if f4 := eval[float64](t, ctx, "window.ddpmFrames"); f4 != f3 {
		t.Errorf("the finished page kept drawing: %v frames in 1 s", f4-f3)
	}
	// The grid starts right of the 250-px panel, 40 px down.
	area := image.Rect(280, 50, 700, 450)
	rm, re := roughness(mid, area, 3), roughness(end, area, 3)
	t.Logf("canvas roughness: mid-sampling %.1f, final %.1f", rm, re)
	if !(re < 0.6*rm) {
		t.Errorf("the final canvas is as rough as noise: roughness %.1f (mid-sampling %.1f)", re, rm)
	}
	if !eval[bool](t, ctx, "window.ddpmSIMD === true") {
		t.Error("the workers did not run the WebAssembly SIMD kernels")
	}
	got := eval[[]float64](t, ctx, "Array.from(window.ddpmResult)")
	want := native(t, weights, sampler, seed, steps, grid*grid, 2)
	if len(got) != len(want) {
		t.Fatalf("page returned %d values, want %d", len(got), len(want))
	}
	var worst float64
	for i, v := range want {
		worst = math.Max(worst, math.Abs(got[i]-float64(v)))
	}
	t.Logf("page vs native samples: max abs difference %.2g", worst)
	if worst > 2e-3 {
		t.Errorf("page samples differ from native ones by up to %.3g", worst)
	}
}

// Bad weights and bad URL parameters are never silent: weights that cannot
// be used give a visible error within seconds, and a parameter the page
// cannot use as asked gives a visible note saying what it used instead.
func TestPageReportsBadInput(t *testing.T) {
	ctx := browser(t)
	srv := server(t)
	for _, c := range []struct{ name, query, want string }{
		{"truncated weights", "weights=corrupt.safetensors", "not usable"},
		{"hostile config", "weights=hostile.safetensors", "number of channel_mults 100 is outside 1..6"},
		{"missing weights", "weights=missing.safetensors", "404"},
	} {
		if _, err := chromedp.Run(ctx, chromedp.Navigate(srv.URL+"/embed.html?"+c.query)); err != nil {
			t.Fatal(err)
		}
		if err := waitFor(ctx, "window.ddpmError !== null", 20*time.Second); err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		text := eval[string](t, ctx, "document.getElementById('error').textContent")
		visible := eval[bool](t, ctx, "!document.getElementById('error').hidden")
		t.Logf("%s: error shown: %q", c.name, text)
		if !visible || !strings.Contains(text, c.want) {
			t.Errorf("%s: error %q (visible %v), want one saying %q", c.name, text, visible, c.want)
		}
	}
	for _, c := range []struct{ name, query, want string }{
		{"out of range", "steps=0&grid=1000", "steps=0 is outside 1–1000; using 1 · grid=1000 is outside 1–8; using 8"},
		{"unparseable", "seed=abc&guidance=NaN&digit=42", "digit=42 is not one of mix, none, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9; using mix · guidance=NaN is not a number; using 2 · seed=abc is not a whole number; using "},
		{"not a choice", "sampler=euler", "sampler=euler is not one of dpmpp2m, dpmpp2m-sde, dpmpp3m, ddim, ddpm; using dpmpp2m"},
	} {
		if _, err := chromedp.Run(ctx, chromedp.Navigate(srv.URL+"/embed.html?autoplay=0&"+c.query)); err != nil {
			t.Fatal(err)
		}
		if err := waitFor(ctx, "document.getElementById('note') && !document.getElementById('note').hidden", 10*time.Second); err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		text := eval[string](t, ctx, "document.getElementById('note').textContent")
		t.Logf("%s: note shown: %q", c.name, text)
		if !strings.Contains(text, c.want) {
			t.Errorf("%s: note %q, want one saying %q", c.name, text, c.want)
		}
	}
}

// The embed page works inside an iframe of another page, as a blog post
// would use it (set DDPM_SCREENSHOT_BLOG to keep a screenshot).
func TestEmbedInBlogPost(t *testing.T) {
	ctx := browser(t)
	srv := server(t)
	if _, err := chromedp.Run(ctx, chromedp.Navigate(srv.URL+"/blog-example.html")); err != nil {
		t.Fatal(err)
	}
	frame := "document.querySelector('iframe').contentWindow"
	if err := waitFor(ctx, frame+".ddpmDone === true || ("+frame+".ddpmError || null) !== null", 120*time.Second); err != nil {
		t.Fatal(err)
	}
	if e := eval[any](t, ctx, frame+".ddpmError"); e != nil {
		t.Fatalf("embedded page error: %v", e)
	}
	if n := eval[float64](t, ctx, frame+".ddpmResult.length"); n != 16*32*32 {
		t.Errorf("embedded page made %v values, want 16 digits", n)
	}
	time.Sleep(300 * time.Millisecond)
	screenshot(t, ctx, os.Getenv("DDPM_SCREENSHOT_BLOG"))
}
