package e2e

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/andybalholm/brotli"
	"github.com/chromedp/chromedp"
)

// BenchmarkPage measures the page in headless Chromium and prints the
// numbers the README quotes: download sizes, time to the first drawn frame,
// time per denoising step for 1, 4 and 16 digits, and frames per second while
// sampling (go test ./wasm/e2e -run X -bench Page -benchtime 1x; one row:
// -bench 'Page/small/digits=16/workers=2/guidance=2/simd=true/x0=false').
func BenchmarkPage(t *testing.B) {
	files := []string{"index.html", "app.js", "style.css", "wasm_exec.js", "worker.js", "main.wasm", "worker.wasm",
		"weights/mnist-small.safetensors", "weights/mnist.safetensors"}
	var sb strings.Builder
	fmt.Fprintf(&sb, "\n| file | raw | gzip -9 | brotli -11 |\n|---|---|---|---|\n")
	var tr, tg, tb int
	for _, f := range files {
		b, err := os.ReadFile(filepath.Join(webDir, f))
		if err != nil {
			t.Fatal(err)
		}
		g, br := gzipSize(b), brotliSize(b)
		tr, tg, tb = tr+len(b), tg+g, tb+br
		fmt.Fprintf(&sb, "| %s | %s | %s | %s |\n", f, kb(len(b)), kb(g), kb(br))
	}
	fmt.Fprintf(&sb, "| **total** (a visitor downloads one of the two weights files) | %s | %s | %s |\n", kb(tr), kb(tg), kb(tb))

	ctx := browser(t)
	srv := server(t)
	fmt.Fprintf(&sb, "\n| model | digits | workers | guidance | SIMD | steps | ms per step | sampling time | fps while sampling | first frame after load |\n|---|---|---|---|---|---|---|---|---|---|\n")
	type run struct {
		model         string
		grid, workers int
		guidance      float64
		simd          bool
		x0            bool // x̂₀ drawn beside xₜ
	}
	var runs []run
	for _, model := range []string{"small", "full"} {
		for _, grid := range []int{1, 2, 4} {
			for _, workers := range []int{1, 2} {
				if grid > 1 || workers == 1 {
					runs = append(runs, run{model, grid, workers, 2, true, false})
				}
			}
		}
	}
	runs = append(runs,
		run{"small", 4, 2, 2, true, true},                                     // both grids drawn
		run{"small", 4, 2, 1, true, false}, run{"full", 4, 2, 1, true, false}, // guidance 1: one network pass per step instead of two
		run{"small", 4, 2, 2, false, false}, run{"full", 4, 2, 2, false, false}) // plain Go kernels, for comparison
	for _, r := range runs {
		grid, workers := r.grid, r.workers
		name := fmt.Sprintf("%s/digits=%d/workers=%d/guidance=%g/simd=%v/x0=%v", r.model, grid*grid, workers, r.guidance, r.simd, r.x0)
		t.Run(name, func(t *testing.B) {
			bit := map[bool]string{true: "1", false: "0"}
			url := fmt.Sprintf("%s/index.html?model=%s&seed=3&sampler=ddim&steps=50&grid=%d&guidance=%g&workers=%d&simd=%s&x0=%s", srv.URL, r.model, grid, r.guidance, workers, bit[r.simd], bit[r.x0])
			if _, err := chromedp.Run(ctx, chromedp.Navigate(url)); err != nil {
				t.Fatal(err)
			}
			if err := waitFor(ctx, "window.ddpmSteps >= 1 || window.ddpmError !== null", 60*time.Second); err != nil {
				t.Fatal(err)
			}
			f0 := eval[float64](t, ctx, "window.ddpmFrames")
			t0 := time.Now()
			if err := waitFor(ctx, "window.ddpmDone || window.ddpmError !== null", 180*time.Second); err != nil {
				t.Fatal(err)
			}
			fps := (eval[float64](t, ctx, "window.ddpmFrames") - f0) / time.Since(t0).Seconds()
			if e := eval[any](t, ctx, "window.ddpmError"); e != nil {
				t.Fatalf("page error: %v", e)
			}
			if got := eval[bool](t, ctx, "window.ddpmSIMD === true"); got != r.simd {
				t.Fatalf("the workers ran with SIMD %v, want %v", got, r.simd)
			}
			tm := eval[map[string]float64](t, ctx, "window.ddpmTimes")
			total := tm["done"] - tm["start"]
			label := r.model
			if r.x0 {
				label += ", x̂₀ beside xₜ"
			}
			fmt.Fprintf(&sb, "| %s | %d | %d | %g | %s | 50 | %.0f | %.2f s | %.0f | %.0f ms |\n", label, grid*grid, workers, r.guidance, map[bool]string{true: "on", false: "off"}[r.simd], total/50, total/1000, fps, tm["firstFrame"])
		})
	}
	fmt.Println(sb.String()) // b.Log would cut the tables short
}

func gzipSize(b []byte) int {
	var buf bytes.Buffer
	w, _ := gzip.NewWriterLevel(&buf, 9)
	w.Write(b)
	w.Close()
	return buf.Len()
}

func brotliSize(b []byte) int {
	var buf bytes.Buffer
	w := brotli.NewWriterLevel(&buf, 11)
	w.Write(b)
	w.Close()
	return buf.Len()
}

func kb(n int) string { return fmt.Sprintf("%.0f KB", float64(n)/1024) }
