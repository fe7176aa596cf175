//go:build js && wasm

// Command worker is the compute half of the browser demo: a Go WebAssembly
// program without any drawing, run inside a Web Worker (web/worker.js). It
// denoises a slice of the batch and hands each step's images back, so the
// page never waits on the network. Go's WebAssembly is single-threaded and
// not preemptive, hence one worker per core.
//
// It sets three functions on the worker's global object:
//
//	ddpmLoad(bytes Uint8Array, simd bool, gogc int) -> {error} | {config, T, schedule, step, simd, simdWhy, pixels}
//	ddpmStart(params, out object) -> {error} | {}
//	ddpmStep()                    -> {error} | null, the step written into out
//	ddpmCollect()                 -> {ms}: a garbage collection, after each sampling
//
// out is {info: Float64Array(4), x, x0: Float32Arrays of the slice's pixels};
// each step writes [index, total, t, done] into info and the images into x
// and x0: the same arrays every step, so that a step creates no JavaScript
// object (see collect).
package main

import (
	"fmt"
	"runtime"
	"runtime/debug"
	"syscall/js"
	"time"

	"github.com/ddpm-go/ddpm/ddpm"
	"github.com/ddpm-go/ddpm/ddpm/nn"
	"github.com/ddpm-go/ddpm/ddpm/safetensors"
	"github.com/ddpm-go/ddpm/ddpm/unet"
	"github.com/ddpm-go/ddpm/wasm/jsfloat"
)

type worker struct {
	model *unet.Model
	sched *ddpm.Schedule
	proc  *ddpm.Process
	out   output // where each step of proc goes
}

// output is the JavaScript side of a run's steps: ddpmStart's out.
type output struct {
	info  js.Value // Float64Array [index, total, t, done]
	x, x0 jsfloat.Writer
}

func main() {
	// The network's activation buffers are most of the live heap (about 60 MB
	// for 8 digits with guidance); with Go's default GOGC of 100 the garbage
	// of each sampling piled up to as much again before a collection, and a
	// WebAssembly memory never shrinks: each worker grew from 70 to 149 MB
	// over the first 3 minutes of back-to-back samplings (DDPM_SOAK). At 20
	// the heap stays within a fifth of the live data.
	debug.SetGCPercent(20)
	w := &worker{}
	export("ddpmLoad", func(args []js.Value) any { return result(w.load(args)) })
	export("ddpmStart", func(args []js.Value) any { return result(w.start(args)) })
	export("ddpmStep", func([]js.Value) any { return w.step() })
	export("ddpmCollect", func([]js.Value) any { return collect() })
	export("ddpmMemStats", func([]js.Value) any { return memStats() })
	select {}
}

// export sets a global function that turns a Go panic into an {error}
// result: a panic would otherwise end the Go program, and every later call
// of the worker would fail without a word.
func export(name string, f func(args []js.Value) any) {
	js.Global().Set(name, js.FuncOf(func(_ js.Value, args []js.Value) (out any) {
		defer func() {
			if r := recover(); r != nil {
				out = map[string]any{"error": fmt.Sprintf("internal error in %s: %v", name, r)}
			}
		}()
		return f(args)
	}))
}

func result(v map[string]any, err error) any {
	if err != nil {
		return map[string]any{"error": err.Error()}
	}
	return v
}

func (w *worker) load(args []js.Value) (map[string]any, error) {
	if len(args) < 1 || args[0].Type() != js.TypeObject {
		return nil, fmt.Errorf("ddpmLoad wants the weights file as a Uint8Array")
	}
	// The SIMD kernels are on unless the page asks for plain Go (?simd=0).
	want := len(args) < 2 || args[1].Truthy()
	// ?gogc= sets the collector's target for measurements (default 20, main).
	if len(args) >= 3 && args[2].Type() == js.TypeNumber && args[2].Int() > 0 {
		debug.SetGCPercent(args[2].Int())
	}
	simd := nn.SetWasmSIMD(want)
	why := ""
	if _, err := nn.WasmSIMD(); want && err != nil {
		why = err.Error()
	}
	b := make([]byte, args[0].Get("length").Int())
	js.CopyBytesToGo(b, args[0])
	f, err := safetensors.Decode(b)
	if err != nil {
		return nil, err
	}
	m, err := unet.FromFile(f, nn.CPU{})
	if err != nil {
		return nil, err
	}
	s, err := unet.ScheduleOf(f.Metadata)
	if err != nil {
		return nil, err
	}
	w.model, w.sched = m, s
	return map[string]any{"config": m.Config.String(), "step": f.Metadata[unet.MetaStep], "T": s.T(), "schedule": s.Kind, "simd": simd, "simdWhy": why, "pixels": m.Config.Pixels()}, nil
}

// start begins images lo..hi of a batch of n. Params: n, lo, hi, labels
// (n ints, the null label for none), seed, sampler, steps, eta, guidance,
// and to start from an image instead of noise: init, from and mask
// (editOf).
func (w *worker) start(args []js.Value) (map[string]any, error) {
	w.proc = nil // a start that fails leaves no older run stepping into the new out
	if w.model == nil {
		return nil, fmt.Errorf("no weights loaded")
	}
	if len(args) != 2 || args[0].Type() != js.TypeObject || args[1].Type() != js.TypeObject {
		return nil, fmt.Errorf("ddpmStart wants a parameter object and an output object")
	}
	p := args[0]
	n, lo, hi := p.Get("n").Int(), p.Get("lo").Int(), p.Get("hi").Int()
	if n < 1 || lo < 0 || hi > n || lo >= hi {
		return nil, fmt.Errorf("bad slice %d..%d of %d images", lo, hi, n)
	}
	cfg := w.model.Config
	px := cfg.Pixels()
	out := args[1]
	w.out = output{info: out.Get("info")}
	var okX, okX0 bool
	w.out.x, okX = jsfloat.NewWriter(out.Get("x"), (hi-lo)*px)
	w.out.x0, okX0 = jsfloat.NewWriter(out.Get("x0"), (hi-lo)*px)
	if !okX || !okX0 || !w.out.info.InstanceOf(js.Global().Get("Float64Array")) || w.out.info.Length() != 4 {
		return nil, fmt.Errorf("ddpmStart's output wants info: Float64Array(4) and x, x0: Float32Arrays of %d values", (hi-lo)*px)
	}
	edit, err := editOf(p, px, w.sched.T())
	if err != nil {
		return nil, err
	}
	from := w.sched.T()
	if edit != nil {
		from = edit.From
	}
	sampler, err := ddpm.NewSamplerFrom(p.Get("sampler").String(), w.sched, p.Get("steps").Int(), p.Get("eta").Float(), from)
	if err != nil {
		return nil, err
	}
	var labels []int
	var model ddpm.Denoiser = w.model
	if cfg.NumClasses > 0 {
		ls := p.Get("labels")
		if ls.Length() != n {
			return nil, fmt.Errorf("%d labels for %d images", ls.Length(), n)
		}
		for i := lo; i < hi; i++ {
			l := ls.Index(i).Int()
			if l < 0 || l > cfg.NullLabel() {
				return nil, fmt.Errorf("label %d is outside 0..%d", l, cfg.NullLabel())
			}
			labels = append(labels, l)
		}
		model = &ddpm.Guided{Model: w.model, Scale: p.Get("guidance").Float(), NullLabel: cfg.NullLabel()}
	}
	// Every Normal draw, the start's and each step's, takes this slice's
	// window of the whole batch's noise: two workers give what one would.
	rng := ddpm.NewRNG(uint64(p.Get("seed").Int()))
	rng.Window(n*px, lo*px)
	if edit != nil {
		w.proc, err = ddpm.NewEditProcess(model, sampler, w.sched, hi-lo, labels, rng, *edit)
	} else {
		w.proc, err = ddpm.NewProcess(model, sampler, hi-lo, px, labels, rng)
	}
	if err != nil {
		return nil, err
	}
	return map[string]any{}, nil
}

// editOf reads the optional start image: init (px values in [−1, 1]), from
// (the paper's t, 1..T, to noise it to) and mask (px values, 1 keep, 0 fill in).
func editOf(p js.Value, px, T int) (*ddpm.Edit, error) {
	init := p.Get("init")
	if init.IsUndefined() || init.IsNull() {
		return nil, nil
	}
	e := &ddpm.Edit{Image: jsfloat.Copy(init), From: p.Get("from").Int()}
	if len(e.Image) != px {
		return nil, fmt.Errorf("a start image of %d pixels for a network of %d", len(e.Image), px)
	}
	if m := p.Get("mask"); !m.IsUndefined() && !m.IsNull() {
		if e.Mask = jsfloat.Copy(m); len(e.Mask) != px {
			return nil, fmt.Errorf("a mask of %d pixels for a network of %d", len(e.Mask), px)
		}
	}
	return e, nil
}

func (w *worker) step() any {
	p := w.proc
	if p == nil {
		return map[string]any{"error": "not started"}
	}
	t := p.Timestep()
	if err := p.Step(); err != nil {
		return map[string]any{"error": err.Error()}
	}
	done := 0
	if p.Done() {
		done = 1
	}
	for i, v := range []int{p.Index(), len(p.Sampler.Timesteps()), t, done} {
		w.out.info.SetIndex(i, v)
	}
	w.out.x.Write(p.X)
	w.out.x0.Write(p.X0)
	return nil
}

// collect runs a Go garbage collection once a sampling is done: 0.6–7 ms
// while the page shows the last step, and each worker's WebAssembly memory
// stays at 69 MB instead of 84 (the next sampling starts on a collected
// heap). It also releases the JavaScript objects that Go values still hold:
// syscall/js frees them only in finalizers.
//
// Why a step creates no JavaScript object (ddpmStart's out): each one used
// to return a new result object and two new Float32Arrays. Held by Go until
// its next collection, they outlived V8's young generation and piled up as
// garbage in its old one: the two workers' JavaScript heaps grew from 27 to
// 103 MB in 4 minutes of back-to-back samplings before V8 collected them,
// and the renderer's RSS swung with them by 80 MB (DDPM_SOAK). The same
// held for the views the SIMD kernels copied through, a new one for every
// copy (~200 KB a step; ddpm/nn keeps them now): with both gone a worker's
// JavaScript heap stays at 4–7 MB.
func collect() any {
	start := time.Now()
	runtime.GC()
	return map[string]any{"ms": float64(time.Since(start).Microseconds()) / 1000}
}

// memStats reports the Go heap in MB (for the soak test): what is live, what
// the runtime holds, and what was allocated in all.
func memStats() any {
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	mb := func(b uint64) float64 { return float64(b) / (1 << 20) }
	return map[string]any{"live": mb(m.HeapAlloc), "heap": mb(m.HeapSys), "sys": mb(m.Sys), "allocated": mb(m.TotalAlloc), "gcs": int(m.NumGC)}
}
