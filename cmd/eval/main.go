// Command eval measures how good a DDPM's samples are with the project's
// MNIST classifier: per-class accuracy of conditional samples at each
// guidance scale, the class histogram of unconditional samples, and the
// Fréchet distance between classifier features of samples and of the MNIST
// test set, next to the same distance between MNIST training and test images
// (the floor, at the same sample count). It prints a table and writes JSON.
//
//	go run ./cmd/eval -per-class 30 -guidance 1,2,3
package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/ddpm-go/ddpm/ddpm"
	"github.com/ddpm-go/ddpm/ddpm/classifier"
	"github.com/ddpm-go/ddpm/ddpm/mnist"
	"github.com/ddpm-go/ddpm/ddpm/nn"
	"github.com/ddpm-go/ddpm/ddpm/safetensors"
	"github.com/ddpm-go/ddpm/ddpm/unet"
)

type options struct {
	weights, classifier, sampler, guidance, jsonOut string
	steps, perClass, batch                          int
	eta                                             float64
	seed                                            uint64
}

// Result is what eval measures; it is also the JSON written to -json.
type Result struct {
	Weights            string        `json:"weights"`
	Step               string        `json:"step"`
	Sampler            string        `json:"sampler"`
	ClassifierAccuracy float64       `json:"classifier_test_accuracy"`
	PerClass           int           `json:"samples_per_class"`
	Conditional        []Conditional `json:"conditional"`
	Unconditional      *Histogram    `json:"unconditional,omitempty"`
	FloorFD            float64       `json:"fd_floor_train_vs_test"`
	Seconds            float64       `json:"seconds"`
}

// Conditional reports samples generated for each digit at one guidance scale.
type Conditional struct {
	Guidance      float64   `json:"guidance"`
	Accuracy      float64   `json:"accuracy"`
	ClassAccuracy []float64 `json:"class_accuracy"`
	FD            float64   `json:"fd_vs_test"`
}

// Histogram reports unconditional samples: how often the classifier sees each digit.
type Histogram struct {
	Counts []int   `json:"counts"`
	FD     float64 `json:"fd_vs_test"`
}

func main() {
	o := &options{}
	fs := flag.NewFlagSet("eval", flag.ContinueOnError)
	fs.StringVar(&o.weights, "weights", filepath.Join("weights", "mnist.safetensors"), "DDPM weights")
	fs.StringVar(&o.classifier, "classifier", filepath.Join("weights", "classifier.safetensors"), "classifier weights (go run ./cmd/classifier)")
	fs.StringVar(&o.sampler, "sampler", "ddim", "ddpm or ddim")
	fs.IntVar(&o.steps, "steps", 50, "DDIM steps")
	fs.Float64Var(&o.eta, "eta", 0, "DDIM η")
	fs.StringVar(&o.guidance, "guidance", "1,2,3", "comma-separated guidance scales for conditional samples")
	fs.IntVar(&o.perClass, "per-class", 50, "conditional samples per digit (the unconditional run draws 10× this)")
	fs.IntVar(&o.batch, "batch", 50, "images per network call")
	fs.Uint64Var(&o.seed, "seed", 1, "seed")
	fs.StringVar(&o.jsonOut, "json", "", "also write the results as JSON here")
	if err := fs.Parse(os.Args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(0)
		}
		os.Exit(2)
	}
	if err := run(o); err != nil {
		fmt.Fprintln(os.Stderr, "eval:", err)
		os.Exit(1)
	}
}

func run(o *options) error {
	start := time.Now()
	if o.perClass < 2 || o.batch < 1 {
		return fmt.Errorf("-per-class must be ≥ 2 and -batch ≥ 1")
	}
	var scales []float64
	for _, s := range strings.Split(o.guidance, ",") {
		g, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
		if err != nil || g < 0 {
			return fmt.Errorf("-guidance %q: want comma-separated numbers ≥ 0", o.guidance)
		}
		scales = append(scales, g)
	}
	be := nn.CPU{}
	m, meta, err := unet.Load(o.weights, be)
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("no weights at %s (train with go run ./ddpm/train, or pass -weights)", o.weights)
	}
	if err != nil {
		return err
	}
	clf, clfAcc, err := classifier.Load(o.classifier, be)
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("no classifier at %s (train it with go run ./cmd/classifier)", o.classifier)
	}
	if err != nil {
		return err
	}
	if m.Config.ImageSize != classifier.Size || m.Config.InChannels != 1 {
		return fmt.Errorf("the classifier takes 1×%d×%d images, the DDPM makes %d×%d×%d", classifier.Size, classifier.Size, m.Config.InChannels, m.Config.ImageSize, m.Config.ImageSize)
	}
	sched, err := unet.ScheduleOf(meta)
	if err != nil {
		return err
	}
	dir, err := mnist.DefaultDir()
	if err != nil {
		return err
	}
	test, err := mnist.Load(dir, mnist.Test, classifier.Size)
	if err != nil {
		return err
	}
	train, err := mnist.Load(dir, mnist.Train, classifier.Size)
	if err != nil {
		return err
	}
	res := &Result{Weights: o.weights, Step: meta[unet.MetaStep], Sampler: fmt.Sprintf("%s, %d steps, η=%g", o.sampler, len(mustTimesteps(o, sched)), o.eta),
		ClassifierAccuracy: clfAcc, PerClass: o.perClass}
	px := classifier.Size * classifier.Size
	testFeat := clf.Features(test.Images, test.N)
	n := 10 * o.perClass
	// The floor: n training images against the test set.
	res.FloorFD, err = classifier.FrechetDistance(features(clf, train.Images[:n*px], n, o.batch), n, testFeat, test.N, classifier.FeatureDim)
	if err != nil {
		return err
	}
	// sample draws n images in batches; labels may be nil (unconditional model).
	sample := func(labels []int, model ddpm.Denoiser, seed uint64) ([]float32, error) {
		out := make([]float32, 0, n*px)
		for lo := 0; lo < n; lo += o.batch {
			hi := min(lo+o.batch, n)
			s, err := ddpm.NewSampler(o.sampler, sched, o.steps, o.eta)
			if err != nil {
				return nil, err
			}
			var ls []int
			if labels != nil {
				ls = labels[lo:hi]
			}
			x, err := ddpm.Sample(model, s, hi-lo, px, ls, ddpm.NewRNGStream(seed, uint64(lo)))
			if err != nil {
				return nil, err
			}
			out = append(out, x...)
			fmt.Fprintf(os.Stderr, "\r  %d/%d samples", hi, n)
		}
		fmt.Fprintln(os.Stderr)
		return out, nil
	}
	if m.Config.NumClasses > 0 {
		labels := make([]int, n)
		for i := range labels {
			labels[i] = i % 10
		}
		for _, g := range scales {
			fmt.Fprintf(os.Stderr, "conditional samples, guidance %g\n", g)
			x, err := sample(labels, &ddpm.Guided{Model: m, Scale: g, NullLabel: m.Config.NullLabel()}, o.seed)
			if err != nil {
				return err
			}
			c := Conditional{Guidance: g, ClassAccuracy: make([]float64, 10)}
			correct := 0
			for i, p := range predict(clf, x, n, o.batch) {
				if p == labels[i] {
					c.ClassAccuracy[labels[i]]++
					correct++
				}
			}
			for d := range c.ClassAccuracy {
				c.ClassAccuracy[d] /= float64(o.perClass)
			}
			c.Accuracy = float64(correct) / float64(n)
			if c.FD, err = classifier.FrechetDistance(features(clf, x, n, o.batch), n, testFeat, test.N, classifier.FeatureDim); err != nil {
				return err
			}
			res.Conditional = append(res.Conditional, c)
		}
	}
	// Unconditional samples: the null label (or an unconditional model).
	fmt.Fprintln(os.Stderr, "unconditional samples")
	var labels []int
	if m.Config.NumClasses > 0 {
		labels = make([]int, n)
		for i := range labels {
			labels[i] = m.Config.NullLabel()
		}
	}
	x, err := sample(labels, m, o.seed+1)
	if err != nil {
		return err
	}
	h := &Histogram{Counts: make([]int, 10)}
	for _, p := range predict(clf, x, n, o.batch) {
		h.Counts[p]++
	}
	if h.FD, err = classifier.FrechetDistance(features(clf, x, n, o.batch), n, testFeat, test.N, classifier.FeatureDim); err != nil {
		return err
	}
	res.Unconditional = h
	res.Seconds = time.Since(start).Seconds()
	printTable(os.Stdout, res)
	if o.jsonOut != "" {
		b, _ := json.MarshalIndent(res, "", "  ")
		if err := safetensors.AtomicWrite(o.jsonOut, append(b, '\n')); err != nil {
			return err
		}
		fmt.Fprintln(os.Stderr, "wrote", o.jsonOut)
	}
	return nil
}

func mustTimesteps(o *options, s *ddpm.Schedule) []int {
	smp, err := ddpm.NewSampler(o.sampler, s, o.steps, o.eta)
	if err != nil {
		return nil
	}
	return smp.Timesteps()
}

func predict(c *classifier.Model, x []float32, n, batch int) []int {
	var out []int
	inBatches(x, n, batch, func(imgs []float32, k int) { out = append(out, c.Predict(imgs, k)...) })
	return out
}

func features(c *classifier.Model, x []float32, n, batch int) []float32 {
	var out []float32
	inBatches(x, n, batch, func(imgs []float32, k int) { out = append(out, c.Features(imgs, k)...) })
	return out
}

// inBatches calls f on consecutive runs of at most batch of the n images in x.
func inBatches(x []float32, n, batch int, f func(imgs []float32, k int)) {
	px := classifier.Size * classifier.Size
	for lo := 0; lo < n; lo += batch {
		hi := min(lo+batch, n)
		f(x[lo*px:hi*px], hi-lo)
	}
}
