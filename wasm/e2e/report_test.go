package e2e

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/andybalholm/brotli"
	"github.com/chromedp/chromedp"
)

// BenchmarkPage measures the page in headless Chromium and prints the
// numbers the README quotes: download sizes, time to the first drawn frame,
// time per denoising step for 1, 4 and 16 digits, frames per second while
// sampling, and the CPU time all Chromium processes take in the 10 s after
// sampling ends (go test ./wasm/e2e -run X -bench Page -benchtime 1x; one
// row: -bench 'Page/full/digits=16/workers=2/guidance=2/simd=true/x0=false/dpmpp2m-12').
func BenchmarkPage(t *testing.B) {
	files := []string{"index.html", "app.js", "pad.js", "style.css", "wasm_exec.js", "worker.js", "main.wasm", "worker.wasm",
		"digits.png", "weights/mnist-small.safetensors", "weights/mnist.safetensors"}
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
	fmt.Fprintf(&sb, "| **total** (a visitor downloads one of the two weights files, and digits.png only in the explore modes) | %s | %s | %s |\n", kb(tr), kb(tg), kb(tb))

	ctx := browser(t)
	srv := server(t)
	fmt.Fprintf(&sb, "\n| model | digits | workers | guidance | SIMD | sampler | steps | ms per step | sampling time | fps while sampling | first frame after load | CPU s in 10 s after done |\n|---|---|---|---|---|---|---|---|---|---|---|---|\n")
	type run struct {
		model         string
		grid, workers int
		guidance      float64
		simd          bool
		x0            bool // x̂₀ drawn beside xₜ
		sampler       string
		steps         int
		mode          string // "" samples; denoise starts at t = 500, inpaint erases a test digit's top half
		gogc          int    // the workers' GOGC; 0: the page's default
	}
	var runs []run
	// The page's default (no URL parameters but the model's) and its neighbours.
	for _, model := range []string{"full", "small"} {
		for _, steps := range []int{10, 12, 15} {
			runs = append(runs, run{model, 4, 2, 2, true, false, "dpmpp2m", steps, "", 0})
		}
	}
	for range 2 { // the workers' collector: Go's default against the page's, alternating
		for _, gogc := range []int{100, 20} {
			runs = append(runs, run{"full", 4, 2, 2, true, false, "dpmpp2m", 10, "", gogc})
		}
	}
	for _, mode := range []string{"denoise", "inpaint"} { // the explore modes with the page's defaults
		runs = append(runs, run{"full", 4, 2, 2, true, false, "dpmpp2m", 10, mode, 0})
	}
	for _, model := range []string{"small", "full"} {
		for _, grid := range []int{1, 2, 4} {
			for _, workers := range []int{1, 2} {
				if grid > 1 || workers == 1 {
					runs = append(runs, run{model, grid, workers, 2, true, false, "ddim", 50, "", 0})
				}
			}
		}
	}
	runs = append(runs,
		run{"small", 4, 2, 2, true, true, "ddim", 50, "", 0},                                                        // both grids drawn
		run{"small", 4, 2, 1, true, false, "ddim", 50, "", 0}, run{"full", 4, 2, 1, true, false, "ddim", 50, "", 0}, // guidance 1: one network pass per step instead of two
		run{"small", 4, 2, 2, false, false, "ddim", 50, "", 0}, run{"full", 4, 2, 2, false, false, "ddim", 50, "", 0}) // plain Go kernels, for comparison
	browserPID := chromedp.FromContext(ctx).Browser.Process().Pid
	for _, r := range runs {
		grid, workers := r.grid, r.workers
		name := fmt.Sprintf("%s/digits=%d/workers=%d/guidance=%g/simd=%v/x0=%v/%s-%d", r.model, grid*grid, workers, r.guidance, r.simd, r.x0, r.sampler, r.steps)
		if r.mode != "" {
			name += "/" + r.mode
		}
		if r.gogc != 0 {
			name += fmt.Sprintf("/gogc=%d", r.gogc)
		}
		t.Run(name, func(t *testing.B) {
			bit := map[bool]string{true: "1", false: "0"}
			url := fmt.Sprintf("%s/index.html?model=%s&seed=3&sampler=%s&steps=%d&grid=%d&guidance=%g&workers=%d&simd=%s&x0=%s", srv.URL, r.model, r.sampler, r.steps, grid, r.guidance, workers, bit[r.simd], bit[r.x0])
			if r.mode != "" {
				url += "&mode=" + r.mode + "&t=500&test=9&erase=top"
			}
			if r.gogc != 0 {
				url += fmt.Sprintf("&gogc=%d", r.gogc)
			}
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
			// What a finished page costs: CPU time of every Chromium process
			// over the 10 s after the last step (after 1 s for it to be drawn).
			time.Sleep(time.Second)
			c0 := treeCPU(browserPID)
			time.Sleep(10 * time.Second)
			idle := treeCPU(browserPID) - c0
			label := r.model
			if r.x0 {
				label += ", x̂₀ beside xₜ"
			}
			if r.gogc != 0 {
				label += fmt.Sprintf(", GOGC %d", r.gogc)
			}
			if r.mode == "denoise" {
				label += ", denoise from t = 500"
			} else if r.mode == "inpaint" {
				label += ", inpaint"
			}
			fmt.Fprintf(&sb, "| %s | %d | %d | %g | %s | %s | %d | %.0f | %.2f s | %.0f | %.0f ms | %.2f |\n", label, grid*grid, workers, r.guidance, map[bool]string{true: "on", false: "off"}[r.simd],
				r.sampler, r.steps, total/float64(r.steps), total/1000, fps, tm["firstFrame"], idle.Seconds())
		})
	}
	fmt.Println(sb.String()) // b.Log would cut the tables short
}

// procStat is what /proc/PID/stat says of a process: its parent and the
// CPU time it used, in clock ticks.
type procStat struct{ ppid, ticks int }

// processes reads /proc/*/stat (Linux; empty elsewhere).
func processes() map[int]procStat {
	out := map[int]procStat{}
	dirs, _ := os.ReadDir("/proc")
	for _, d := range dirs {
		p, err := strconv.Atoi(d.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", d.Name(), "stat"))
		if err != nil {
			continue
		}
		// Fields after the command name, which is in parentheses and may hold spaces:
		// state ppid … utime (14th field of the line) stime (15th).
		f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+1:]))
		if len(f) < 13 {
			continue
		}
		ppid, _ := strconv.Atoi(f[1])
		ut, _ := strconv.Atoi(f[11])
		st, _ := strconv.Atoi(f[12])
		out[p] = procStat{ppid, ut + st}
	}
	return out
}

// tree returns pid and all its descendants.
func tree(procs map[int]procStat, pid int) []int {
	var out []int
	for p := range procs {
		for q := p; q > 1; q = procs[q].ppid {
			if q == pid {
				out = append(out, p)
				break
			}
		}
	}
	return out
}

// treeCPU returns the user and system CPU time of process pid and all its
// descendants (0 outside Linux).
func treeCPU(pid int) time.Duration {
	procs := processes()
	var sum int
	for _, p := range tree(procs, pid) {
		sum += procs[p].ticks
	}
	return time.Duration(sum) * time.Second / 100 // USER_HZ is 100 on Linux
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
