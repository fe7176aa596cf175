// Command sample draws digits from trained weights and writes the figures of
// the MNIST DDPM tutorial as PNG, plus an animation:
//
//	grid.png     an 8×8 grid of samples
//	reverse.png  the reverse process of 8 samples at t = 1000, 900, …, 100, 1 and the result
//	forward.png  the forward (noising) process of 8 test images at the same t
//	denoise.gif  the whole denoising of the grid
//
// Usage:
//
//	go run ./cmd/sample                          # DPM-Solver++ 2M, 10 steps, digits 0–9 in turn
//	go run ./cmd/sample -sampler ddpm -label 7   # 1000 ancestral steps, all sevens
//	go run ./cmd/sample -init digit.png -t 600 -label 8   # SDEdit: noise a digit to t = 600, denoise it as an 8
//	go run ./cmd/sample -init digit.png -mask keep.png    # inpaint the black part of keep.png
//	go run ./cmd/sample -init digit.png -mask top         # keep the top half, fill in the bottom
package main

import (
	"errors"
	"flag"
	"fmt"
	"image"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"strconv"

	"github.com/ddpm-go/ddpm/ddpm"
	"github.com/ddpm-go/ddpm/ddpm/mnist"
	"github.com/ddpm-go/ddpm/ddpm/nn"
	"github.com/ddpm-go/ddpm/ddpm/picture"
	"github.com/ddpm-go/ddpm/ddpm/unet"
	"github.com/ddpm-go/ddpm/internal/cli"
)

type options struct {
	weights, sampler, label, out string
	init, mask                   string
	steps, n, from               int
	eta, guidance                float64
	seed                         uint64
}

func main() {
	o := &options{}
	fs := flag.NewFlagSet("sample", flag.ContinueOnError)
	fs.StringVar(&o.weights, "weights", filepath.Join("weights", "mnist.safetensors"), "weights file")
	fs.StringVar(&o.sampler, "sampler", "dpmpp2m", "dpmpp2m (DPM-Solver++ 2M), dpmpp2m-sde, dpmpp3m, ddim, or ddpm (all T ancestral steps)")
	fs.IntVar(&o.steps, "steps", 10, "sampling steps (network evaluations; ddpm always takes all T)")
	fs.Float64Var(&o.eta, "eta", 0, "DDIM η: 0 deterministic, 1 DDPM-like noise")
	fs.StringVar(&o.label, "label", "mix", "digit 0..9, none (unconditional), or mix (0–9 in turn)")
	fs.Float64Var(&o.guidance, "guidance", 2, "classifier-free guidance scale (1: plain conditional)")
	fs.IntVar(&o.n, "n", 64, "samples in the grid")
	fs.Uint64Var(&o.seed, "seed", 1, "seed of the initial noise")
	fs.StringVar(&o.out, "out", "out", "folder for the figures")
	fs.StringVar(&o.init, "init", "", "a PNG digit (bright ink on dark) to start from instead of noise: noised to -t and denoised back (SDEdit), or inpainted with -mask")
	fs.IntVar(&o.from, "t", 0, "with -init, the t (1..T) to noise it to and denoise from (default 600; T with -mask)")
	fs.StringVar(&o.mask, "mask", "", "with -init, a PNG whose white pixels are kept and black ones filled in (inpainting), or top, bottom, left or right: keep that half")
	cli.Usage(fs, "go run ./cmd/sample [flags]",
		"Samples digits and writes grid.png, reverse.png, forward.png and denoise.gif into -out.")
	cli.Parse(fs, os.Args[1:])
	cli.Exit("sample", run(o))
}

// Labels turns -label into one label per image (nil for unconditional models).
func labels(spec string, n int, m *unet.Model) ([]int, error) {
	if m.Config.NumClasses == 0 {
		if spec != "none" && spec != "mix" {
			return nil, fmt.Errorf("-label %s: these weights are unconditional; use -label none", spec)
		}
		return nil, nil
	}
	out := make([]int, n)
	for i := range out {
		switch spec {
		case "mix":
			out[i] = i % 10
		case "none":
			out[i] = m.Config.NullLabel()
		default:
			d, err := strconv.Atoi(spec)
			if err != nil || d < 0 || d >= m.Config.NumClasses {
				return nil, fmt.Errorf("-label %q: want a digit 0..%d, none or mix", spec, m.Config.NumClasses-1)
			}
			out[i] = d
		}
	}
	return out, nil
}

func run(o *options) error {
	if o.n < 1 || o.n > 1024 {
		return fmt.Errorf("-n must be in 1..1024")
	}
	if !(o.guidance >= 0 && o.guidance <= 100) {
		return fmt.Errorf("-guidance %v: want a number in 0..100", o.guidance)
	}
	if !(o.eta >= 0 && o.eta <= 10) {
		return fmt.Errorf("-eta %v: want a number in 0..10 (0: deterministic DDIM, 1: DDPM-like)", o.eta)
	}
	m, meta, err := unet.Load(o.weights, nn.CPU{})
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("no weights at %s: train some with `go run ./ddpm/train` (they land in runs/mnist/weights.safetensors) or pass -weights", o.weights)
	}
	if err != nil {
		return err
	}
	sched, err := unet.ScheduleOf(meta)
	if err != nil {
		return err
	}
	from, known, mask, err := startImages(o, sched.T(), m.Config.ImageSize)
	if err != nil {
		return err
	}
	sampler, err := ddpm.NewSamplerFrom(o.sampler, sched, o.steps, o.eta, from)
	if err != nil {
		return err
	}
	lab, err := labels(o.label, o.n, m)
	if err != nil {
		return err
	}
	var model ddpm.Denoiser = m
	if m.Config.NumClasses > 0 {
		model = &ddpm.Guided{Model: m, Scale: o.guidance, NullLabel: m.Config.NullLabel()}
	}
	if err := os.MkdirAll(o.out, 0o755); err != nil {
		return err
	}
	size, px := m.Config.ImageSize, m.Config.Pixels()
	cols := int(math.Ceil(math.Sqrt(float64(o.n))))

	// The reverse strip: the first rows images at paper steps 1000, 900, …, 100, 1, then x_0.
	marks := []int{1000, 900, 800, 700, 600, 500, 400, 300, 200, 100, 1}
	for i := range marks {
		marks[i] = marks[i] * sched.T() / 1000
	}
	marks[len(marks)-1] = 1
	rows := min(8, o.n)
	strip := make([][]float32, rows) // per row, its snapshots one after another
	total := len(sampler.Timesteps())
	every := max(1, total/60) // about 60 animation frames
	// The images are denoised in chunks, so memory stays bounded for any -n;
	// each chunk's noise is its window of the whole batch's, so the samples
	// are the ones a single batch would give. The animation keeps each
	// frame's pixels as bytes.
	const chunk = 32
	var frames [][]byte // per frame, n·px pixels
	frame := func(f int, lo int, x []float32) {
		if f == len(frames) {
			frames = append(frames, make([]byte, o.n*px))
		}
		for i, v := range x {
			frames[f][lo*px+i] = uint8(max(0, min(255, (v+1)*127.5+0.5)))
		}
	}
	final := make([]float32, o.n*px)
	fi, _ := os.Stderr.Stat()
	tty := fi != nil && fi.Mode()&os.ModeCharDevice != 0 // progress rewritten in place
	for lo := 0; lo < o.n; lo += chunk {
		hi := min(lo+chunk, o.n)
		var smp ddpm.Sampler
		if smp, err = ddpm.NewSamplerFrom(o.sampler, sched, o.steps, o.eta, from); err != nil {
			return err
		}
		var ls []int
		if lab != nil {
			ls = lab[lo:hi]
		}
		// The start is this chunk's window of the whole batch's noise; the
		// noise of later steps comes from a stream of its own per chunk
		// (a window would draw the whole batch's noise at every step).
		rng := ddpm.NewRNG(o.seed)
		rng.Window(o.n*px, lo*px)
		var p *ddpm.Process
		if known != nil { // SDEdit or inpainting
			p, err = ddpm.NewEditProcess(model, smp, sched, hi-lo, ls, rng, ddpm.Edit{Image: known, From: from, Mask: mask})
		} else {
			p, err = ddpm.NewProcess(model, smp, hi-lo, px, ls, rng)
		}
		if err != nil {
			return err
		}
		p.RNG = ddpm.NewRNGStream(o.seed, uint64(lo)+1)
		mark, f := 0, 0
		snapshot := func() {
			for r := lo; r < min(hi, rows); r++ {
				strip[r] = append(strip[r], p.X[(r-lo)*px:(r-lo+1)*px]...)
			}
		}
		frame(f, lo, p.X)
		for !p.Done() {
			// Before the step at code index t the state is x_{t+1} in the paper's numbering.
			for mark < len(marks) && p.Timestep()+1 <= marks[mark] {
				snapshot()
				mark++
			}
			if err := p.Step(); err != nil {
				return err
			}
			if p.Index()%every == 0 || p.Done() {
				f++
				frame(f, lo, p.X)
			}
			if tty && p.Index()%max(1, total/10) == 0 {
				fmt.Fprintf(os.Stderr, "\rimages %d–%d of %d: step %d/%d", lo+1, hi, o.n, p.Index(), total)
			}
		}
		for ; mark < len(marks); mark++ { // marks below the last step show the last state
			snapshot()
		}
		snapshot() // x_0
		copy(final[lo*px:], p.X)
		if !tty { // a log gets a line per chunk, not one long line
			fmt.Fprintf(os.Stderr, "images %d–%d of %d: %d steps\n", lo+1, hi, o.n, total)
		}
	}
	if tty {
		fmt.Fprintln(os.Stderr)
	}

	write := func(name string, img *image.Gray) error {
		path := filepath.Join(o.out, name)
		if err := picture.SavePNG(path, img); err != nil {
			return err
		}
		fmt.Fprintln(os.Stderr, "wrote", path)
		return nil
	}
	if err := write("grid.png", picture.Grid(final, o.n, size, cols, 2, 2)); err != nil {
		return err
	}
	if err := write("reverse.png", stripImage(strip, len(marks)+1, size)); err != nil {
		return err
	}
	fwd, err := forwardStrip(sched, marks, rows, size, o.seed)
	if err != nil {
		return err
	}
	if err := write("forward.png", fwd); err != nil {
		return err
	}
	gifFrames := make([]*image.Gray, len(frames))
	x := make([]float32, o.n*px)
	for i, f := range frames {
		for j, v := range f {
			x[j] = float32(v)/127.5 - 1
		}
		gifFrames[i] = picture.Grid(x, o.n, size, cols, 2, 1)
	}
	gifPath := filepath.Join(o.out, "denoise.gif")
	if err := picture.SaveGIF(gifPath, gifFrames, 8, 300); err != nil {
		return err
	}
	fmt.Fprintln(os.Stderr, "wrote", gifPath)
	return nil
}

// startImages reads -init and -mask: the t to start from (T for plain
// sampling and inpainting unless -t says otherwise), the image, and the mask
// (1 keep, 0 fill in; nil without -mask).
func startImages(o *options, T, size int) (from int, known, mask []float32, err error) {
	if o.init == "" {
		if o.mask != "" || o.from != 0 {
			return 0, nil, nil, fmt.Errorf("-t and -mask need -init, the image to start from")
		}
		return T, nil, nil, nil
	}
	if known, err = picture.ReadPNG(o.init, size); err != nil {
		return 0, nil, nil, fmt.Errorf("-init: %v", err)
	}
	from = 600 * T / 1000
	if o.mask != "" {
		if mask = halfMask(o.mask, size); mask == nil {
			if mask, err = picture.ReadPNG(o.mask, size); err != nil {
				return 0, nil, nil, fmt.Errorf("-mask: %v (want a PNG, or top, bottom, left or right)", err)
			}
			for i, v := range mask { // white (1) keeps, black (−1) fills in
				mask[i] = (v + 1) / 2
			}
		}
		from = T
	}
	if o.from != 0 {
		from = o.from
	}
	if from < 1 || from > T {
		return 0, nil, nil, fmt.Errorf("-t %d is outside 1..%d", o.from, T)
	}
	return from, known, mask, nil
}

// halfMask returns the mask that keeps the named half of a size×size image
// (top, bottom, left or right) and fills in the other, or nil for any other
// name.
func halfMask(name string, size int) []float32 {
	keep := map[string]func(x, y int) bool{
		"top":    func(_, y int) bool { return y < size/2 },
		"bottom": func(_, y int) bool { return y >= size/2 },
		"left":   func(x, _ int) bool { return x < size/2 },
		"right":  func(x, _ int) bool { return x >= size/2 },
	}[name]
	if keep == nil {
		return nil
	}
	mask := make([]float32, size*size)
	for y := 0; y < size; y++ {
		for x := 0; x < size; x++ {
			if keep(x, y) {
				mask[y*size+x] = 1
			}
		}
	}
	return mask
}

// stripImage lays out rows of snapshots, one row per image.
func stripImage(strip [][]float32, cols, size int) *image.Gray {
	var all []float32
	for _, row := range strip {
		all = append(all, row...)
	}
	return picture.Grid(all, len(strip)*cols, size, cols, 2, 2)
}

// forwardStrip noises the first rows MNIST test images to each mark.
func forwardStrip(s *ddpm.Schedule, marks []int, rows, size int, seed uint64) (*image.Gray, error) {
	dir, err := mnist.DefaultDir()
	if err != nil {
		return nil, err
	}
	test, err := mnist.Load(dir, mnist.Test, size)
	if err != nil {
		return nil, err
	}
	px := size * size
	rng := ddpm.NewRNG(seed)
	strip := make([][]float32, rows)
	eps := make([]float32, px)
	for r := 0; r < rows; r++ {
		x0 := test.Image(r)
		rng.Normal(eps)
		strip[r] = append(strip[r], x0...) // clean image first, then t = 1, 100, …, 1000
		for i := len(marks) - 1; i >= 0; i-- {
			xt := make([]float32, px)
			s.QSample(xt, x0, eps, marks[i]-1)
			strip[r] = append(strip[r], xt...)
		}
	}
	return stripImage(strip, len(marks)+1, size), nil
}
