// Command x0err measures how far a network's x̂₀ is from the clean image at
// each timestep, beside the best guess that ignores the noisy image: the
// mean training image of the digit (of all digits for an unconditional
// network). A sampler's first steps read x̂₀ at the noisiest timesteps, so
// this says where the network's estimate is worth more than that guess.
//
//	go run ./cmd/x0err                                  # the shipped weights
//	go run ./cmd/x0err -weights runs/mnist/weights.safetensors -t 999,900,500
package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"

	"github.com/ddpm-go/ddpm/ddpm"
	"github.com/ddpm-go/ddpm/ddpm/mnist"
	"github.com/ddpm-go/ddpm/ddpm/nn"
	"github.com/ddpm-go/ddpm/ddpm/unet"
	"github.com/ddpm-go/ddpm/internal/cli"
)

type options struct {
	weights, ts string
	n           int
	seed        uint64
}

func main() {
	o := &options{}
	flags := flag.NewFlagSet("x0err", flag.ContinueOnError)
	flags.StringVar(&o.weights, "weights", "weights/mnist.safetensors", "DDPM weights")
	flags.StringVar(&o.ts, "t", "999,950,900,800,700,600,500,400,300,200,100", "comma-separated timestep indices (0..T−1)")
	flags.IntVar(&o.n, "n", 500, "MNIST test images noised at each timestep")
	flags.Uint64Var(&o.seed, "seed", 1, "seed of the noise")
	cli.Usage(flags, "go run ./cmd/x0err [flags]",
		"Prints, for each timestep, the mean squared error of the network's ε and x̂₀ on noised MNIST test images, and of the digit's mean training image as x̂₀.")
	cli.Parse(flags, os.Args[1:])
	cli.Exit("x0err", run(o, os.Stdout))
}

func run(o *options, w io.Writer) error {
	m, meta, err := unet.Load(o.weights, nn.CPU{})
	if err != nil {
		return err
	}
	sched, err := unet.ScheduleOf(meta)
	if err != nil {
		return err
	}
	ts, err := parseTimesteps(o.ts, sched.T())
	if err != nil {
		return err
	}
	if o.n < 1 {
		return fmt.Errorf("-n %d: want at least 1 test image", o.n)
	}
	dir, err := mnist.DefaultDir()
	if err != nil {
		return err
	}
	size := m.Config.ImageSize
	train, err := mnist.Load(dir, mnist.Train, size)
	if err != nil {
		return err
	}
	test, err := mnist.Load(dir, mnist.Test, size)
	if err != nil {
		return err
	}
	if o.n > test.N {
		return fmt.Errorf("-n %d: the test set has %d images", o.n, test.N)
	}
	rows, err := measure(m, sched, train, test, ts, o.n, o.seed)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "%s (step %s), %d test images a row; x̂₀ clipped to [−1, 1] as the samplers do\n\n", o.weights, meta[unet.MetaStep], o.n)
	fmt.Fprintln(w, "| t | SNR | ε MSE | x̂₀ MSE | x̂₀ MSE clipped | mean image MSE |")
	fmt.Fprintln(w, "|---|---|---|---|---|---|")
	for _, r := range rows {
		fmt.Fprintf(w, "| %d | %.2e | %.2e | %.3f | %.3f | %.3f |\n", r.T, r.SNR, r.EpsMSE, r.X0MSE, r.ClippedMSE, r.MeanMSE)
	}
	return nil
}

func parseTimesteps(s string, T int) ([]int, error) {
	var ts []int
	for _, f := range strings.Split(s, ",") {
		t, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || t < 0 || t >= T {
			return nil, fmt.Errorf("-t: %q is not a timestep index in 0..%d", f, T-1)
		}
		ts = append(ts, t)
	}
	return ts, nil
}

// Row is one timestep's errors, each a mean over pixels and images.
type Row struct {
	T                                  int
	SNR                                float64 // ᾱ_t/(1−ᾱ_t)
	EpsMSE, X0MSE, ClippedMSE, MeanMSE float64
}

// measure noises the first n test images to each timestep with the same
// noise, asks the network for ε (with the true labels when it is
// conditional) and compares its x̂₀, raw and clipped, and the mean training
// image of the label, with the clean image.
func measure(m *unet.Model, sched *ddpm.Schedule, train, test *mnist.Set, ts []int, n int, seed uint64) ([]Row, error) {
	px := test.Size * test.Size
	cond := m.Config.NumClasses > 0
	means := make([][]float64, 10)
	counts := make([]int, 10)
	for c := range means {
		means[c] = make([]float64, px)
	}
	for i := 0; i < train.N; i++ {
		c := train.Labels[i]
		if !cond {
			c = 0 // one mean of all digits
		}
		counts[c]++
		for j, v := range train.Image(i) {
			means[c][j] += float64(v)
		}
	}
	for c := range means {
		for j := range means[c] {
			means[c][j] /= float64(max(counts[c], 1))
		}
	}
	x0 := test.Images[:n*px]
	var labels []int
	if cond {
		labels = test.Labels[:n]
	}
	eps := make([]float32, n*px)
	ddpm.NewRNG(seed).Normal(eps)
	xt, pred, xh := make([]float32, n*px), make([]float32, n*px), make([]float32, px)
	var rows []Row
	for _, t := range ts {
		sched.QSampleBatch(xt, x0, eps, slices.Repeat([]int{t}, n))
		// In batches, so memory does not grow with n.
		for lo := 0; lo < n; lo += batch {
			hi := min(lo+batch, n)
			var ls []int
			if cond {
				ls = labels[lo:hi]
			}
			if err := m.PredictNoise(pred[lo*px:hi*px], xt[lo*px:hi*px], hi-lo, t, ls); err != nil {
				return nil, err
			}
		}
		r := Row{T: t, SNR: sched.SNR(t)}
		for i := 0; i < n; i++ {
			mean := means[0]
			if cond {
				mean = means[test.Labels[i]]
			}
			sched.PredictX0(xh, xt[i*px:(i+1)*px], pred[i*px:(i+1)*px], t, false)
			for j := 0; j < px; j++ {
				k, truth := i*px+j, float64(x0[i*px+j])
				r.EpsMSE += sq(float64(pred[k] - eps[k]))
				r.X0MSE += sq(float64(xh[j]) - truth)
				r.ClippedMSE += sq(float64(max(-1, min(1, xh[j]))) - truth)
				r.MeanMSE += sq(mean[j] - truth)
			}
		}
		N := float64(n * px)
		r.EpsMSE, r.X0MSE, r.ClippedMSE, r.MeanMSE = r.EpsMSE/N, r.X0MSE/N, r.ClippedMSE/N, r.MeanMSE/N
		rows = append(rows, r)
	}
	return rows, nil
}

func sq(v float64) float64 { return v * v }

// batch is how many images go through the network at once.
const batch = 50
