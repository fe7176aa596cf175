package e2e

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestSoak samples on the page again and again for DDPM_SOAK (say 30m; the
// test is skipped without it) and every 30 s records the JavaScript heap, the
// WebAssembly memories, the resident memory of each Chromium process and the
// page renderer's main allocators (Chromium's memory-infra). The renderer may grow by at
// most 10 MB between minute 5 (a sixth of a shorter run) and the end.
//
//	DDPM_SOAK=30m go test ./wasm/e2e -run Soak -v -timeout 45m
func TestSoak(t *testing.T) {
	d, err := time.ParseDuration(os.Getenv("DDPM_SOAK"))
	if err != nil {
		t.Skip("opt-in: set DDPM_SOAK to a duration such as 30m")
	}
	ctx := browser(t)
	srv := server(t)
	if _, err := chromedp.Run(ctx, chromedp.Navigate(srv.URL+"/index.html?grid=4&workers=2")); err != nil {
		t.Fatal(err)
	}
	pid := chromedp.FromContext(ctx).Browser.Process().Pid
	start := time.Now()
	settle := min(5*time.Minute, d/6)
	type sample struct {
		at          time.Duration
		runs        int
		heap        float64
		rss         map[string]float64 // MB per process type
		rendererRSS float64
	}
	var samples []sample
	runs := 0
	next := time.Duration(0)
	for time.Since(start) < d {
		if err := waitFor(ctx, "window.ddpmDone || window.ddpmError !== null", 120*time.Second); err != nil {
			t.Fatal(err)
		}
		if e := eval[any](t, ctx, "window.ddpmError"); e != nil {
			t.Fatalf("page error after %d runs: %v", runs, e)
		}
		runs++
		if at := time.Since(start); at >= next {
			rss := processRSS(pid)
			s := sample{at: at, runs: runs, heap: eval[float64](t, ctx, "performance.memory ? performance.memory.usedJSHeapSize / 1e6 : 0"), rss: rss, rendererRSS: rss["renderer"]}
			samples = append(samples, s)
			mem, err := chromedp.Run(ctx, chromedp.Evaluate[map[string]any]("window.ddpmMemory()", chromedp.EvalAwaitPromise))
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("%5.1f min, %4d samplings: JS heap %.1f MB; wasm memory MB: drawing %.0f, workers %s; RSS MB: %s",
				at.Minutes(), runs, s.heap, mem["drawing"].(float64)/(1<<20), workerMemory(mem["workers"]), sizes(rss))
			if dumps, err := memoryDump(ctx); err != nil {
				t.Log(err)
			} else {
				for _, d := range dumps {
					if d["v8/workers"] > 0 { // the page's renderer
						t.Logf("  its allocators, MB: %s", dumpLine(d, "v8/main/heap", "v8/workers/heap", "malloc", "partition_alloc/partitions/array_buffer", "blink_gc/main", "blink_gc/workers", "shared_memory"))
					}
				}
			}
			next += 30 * time.Second
		}
		// The visitor's "New seed" button: a fresh sampling of 16 digits.
		if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool]("window.ddpmDone = false; document.getElementById('newSeed').click(); true")); err != nil {
			t.Fatal(err)
		}
	}
	var base *sample
	for i := range samples {
		if samples[i].at >= settle {
			base = &samples[i]
			break
		}
	}
	last := samples[len(samples)-1]
	if base == nil || base == &samples[len(samples)-1] {
		t.Fatalf("too short a soak to compare (%v)", d)
	}
	// A slowly collected heap makes the RSS swing (the workers' JavaScript
	// heaps did by 80 MB before worker/main.go's collect), so the floor (a
	// leak raises it, garbage does not) and the least-squares slope are
	// logged beside the end-to-end growth.
	var first, final []float64
	var st, sr, stt, str float64
	var n float64
	for _, s := range samples[slices.IndexFunc(samples, func(s sample) bool { return s.at >= settle }):] {
		m := s.at.Minutes()
		if s.at < base.at+5*time.Minute {
			first = append(first, s.rendererRSS)
		}
		if s.at > last.at-5*time.Minute {
			final = append(final, s.rendererRSS)
		}
		st, sr, stt, str, n = st+m, sr+s.rendererRSS, stt+m*m, str+m*s.rendererRSS, n+1
	}
	t.Logf("renderer RSS floor: %.1f MB in the first 5 min after minute %.1f, %.1f MB in the last 5 min; fitted slope %+.2f MB/min",
		slices.Min(first), base.at.Minutes(), slices.Min(final), (n*str-st*sr)/(n*stt-st*st))
	growth := last.rendererRSS - base.rendererRSS
	t.Logf("renderer RSS %.1f MB at %.1f min, %.1f MB at %.1f min (%d samplings): %+.1f MB", base.rendererRSS, base.at.Minutes(), last.rendererRSS, last.at.Minutes(), last.runs, growth)
	if growth > 10 {
		t.Errorf("the renderer grew by %.1f MB between minute %.1f and %.1f", growth, base.at.Minutes(), last.at.Minutes())
	}
}

// processRSS returns the resident memory in MB of process pid and its
// descendants, summed by Chromium process type (browser, renderer, gpu-process, …).
func processRSS(pid int) map[string]float64 {
	out := map[string]float64{}
	for _, p := range tree(processes(), pid) {
		cmd, _ := os.ReadFile(filepath.Join("/proc", strconv.Itoa(p), "cmdline"))
		kind := "browser"
		// Chromium rewrites its children's titles: their arguments are
		// separated by spaces, not NULs.
		for _, arg := range bytes.Fields(bytes.ReplaceAll(cmd, []byte{0}, []byte{' '})) {
			if v, ok := bytes.CutPrefix(arg, []byte("--type=")); ok {
				kind = string(v)
			}
		}
		status, _ := os.ReadFile(filepath.Join("/proc", strconv.Itoa(p), "status"))
		for _, line := range strings.Split(string(status), "\n") {
			if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
				kb, _ := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 64)
				out[kind] += kb / 1024
			}
		}
	}
	return out
}

// sizes formats a map of sizes in a fixed order, for logs.
func sizes(m map[string]float64) string {
	var keys []string
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		fmt.Fprintf(&b, "%s %.0f ", k, m[k])
	}
	return strings.TrimSpace(b.String())
}

// workerMemory formats the workers' readings of window.ddpmMemory: each
// one's linear memory, then its Go heap: live / held by the runtime, and the
// garbage collections so far.
func workerMemory(v any) string {
	var parts []string
	for _, w := range v.([]any) {
		m := w.(map[string]any)
		g := m["go"].(map[string]any)
		parts = append(parts, fmt.Sprintf("%.0f (Go heap %.0f/%.0f, %v GCs, last sampling's took %v ms)", m["bytes"].(float64)/(1<<20), g["live"], g["heap"], g["gcs"], m["collectMs"]))
	}
	return strings.Join(parts, ", ")
}
