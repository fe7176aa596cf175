// Package quality holds no code: its tests check what SDEdit and inpainting
// do with the shipped network, judged by the project's MNIST classifier.
package quality

import (
	"path/filepath"
	"testing"

	"github.com/ddpm-go/ddpm/ddpm"
	"github.com/ddpm-go/ddpm/ddpm/classifier"
	"github.com/ddpm-go/ddpm/ddpm/mnist"
	"github.com/ddpm-go/ddpm/ddpm/nn"
	"github.com/ddpm-go/ddpm/ddpm/unet"
)

const (
	digits = 500 // MNIST test digits per check
	chunk  = 50  // images per reverse process
	steps  = 10  // DPM-Solver++ 2M steps (from t = T; fewer from a lower t)
)

type setup struct {
	model *unet.Model
	sched *ddpm.Schedule
	clf   *classifier.Model
	test  *mnist.Set
}

func load(t *testing.T) *setup {
	t.Helper()
	if testing.Short() {
		t.Skip("samples 500 digits with the shipped network")
	}
	m, meta, err := unet.Load(filepath.Join("..", "..", "weights", "mnist.safetensors"), nn.CPU{})
	if err != nil {
		t.Fatal(err)
	}
	s, err := unet.ScheduleOf(meta)
	if err != nil {
		t.Fatal(err)
	}
	clf, _, err := classifier.Load(filepath.Join("..", "..", "weights", "classifier.safetensors"), nn.CPU{})
	if err != nil {
		t.Fatal(err)
	}
	dir, err := mnist.DefaultDir()
	if err != nil {
		t.Fatal(err)
	}
	test, err := mnist.Load(dir, mnist.Test, 32)
	if err != nil {
		t.Fatal(err)
	}
	return &setup{m, s, clf, test}
}

// agreement runs make on each chunk of the first 500 test digits and returns
// the share of results the classifier reads as want(i).
func (s *setup) agreement(t *testing.T, run func(x0 []float32, labels []int, rng *ddpm.RNG) []float32, want func(i int) int) float64 {
	t.Helper()
	px := s.model.Config.Pixels()
	agree := 0
	for lo := 0; lo < digits; lo += chunk {
		x := run(s.test.Images[lo*px:(lo+chunk)*px], s.test.Labels[lo:lo+chunk], ddpm.NewRNGStream(9, uint64(lo)))
		for i, p := range s.clf.Predict(x, chunk) {
			if p == want(lo+i) {
				agree++
			}
		}
	}
	return float64(agree) / digits
}

// sdedit noises the digits to t and denoises them back, with their labels
// (plain conditional sampling, guidance 1) or without (the null label).
func (s *setup) sdedit(t *testing.T, from int, labelled bool) func(x0 []float32, labels []int, rng *ddpm.RNG) []float32 {
	return func(x0 []float32, labels []int, rng *ddpm.RNG) []float32 {
		smp, err := ddpm.NewSamplerFrom("dpmpp2m", s.sched, steps, 0, from)
		if err != nil {
			t.Fatal(err)
		}
		var model ddpm.Denoiser = s.model
		ls := make([]int, len(labels))
		for i := range ls {
			ls[i] = s.model.Config.NullLabel()
		}
		if labelled {
			copy(ls, labels)
		}
		xt := make([]float32, len(x0))
		s.sched.NoiseTo(xt, x0, from, rng)
		p, err := ddpm.NewProcessFrom(model, smp, len(labels), xt, ls, rng)
		if err != nil {
			t.Fatal(err)
		}
		if err := p.Run(nil); err != nil {
			t.Fatal(err)
		}
		return p.X
	}
}

// SDEdit: noised to t = 300 and denoised back with their labels, the digits
// keep their class; from t = 900 without the label, their class is
// reinvented: agreement falls toward chance (10%).
func TestSDEditKeepsThenLosesTheDigit(t *testing.T) {
	s := load(t)
	own := func(i int) int { return s.test.Labels[i] }
	low := s.agreement(t, s.sdedit(t, 300, true), own)
	lowUncond := s.agreement(t, s.sdedit(t, 300, false), own)
	high := s.agreement(t, s.sdedit(t, 900, false), own)
	t.Logf("SDEdit of %d test digits: the classifier reads the original class in %.1f%% from t = 300 with the label (%.1f%% without), %.1f%% from t = 900 without", digits, 100*low, 100*lowUncond, 100*high)
	if low < 0.97 {
		t.Errorf("from t = 300 with the label: %.1f%% keep their class, want ≥ 97%%", 100*low)
	}
	if high > 0.5 {
		t.Errorf("from t = 900 without labels: %.1f%% keep their class, want it near chance (≤ 50%%)", 100*high)
	}
}

// Inpainting: with the top half erased and the true label, the classifier
// reads the requested digit, and the kept bottom half is the original.
func TestInpaintTopHalf(t *testing.T) {
	s := load(t)
	size := s.model.Config.ImageSize
	px := size * size
	mask := make([]float32, chunk*px)
	for i := range mask {
		if i%px >= px/2 {
			mask[i] = 1 // the bottom half is kept
		}
	}
	var worst float64
	run := func(x0 []float32, labels []int, rng *ddpm.RNG) []float32 {
		inner, err := ddpm.NewSampler("dpmpp2m", s.sched, steps, 0)
		if err != nil {
			t.Fatal(err)
		}
		smp := &ddpm.Inpaint{Sampler: inner, S: s.sched, Known: x0, Mask: mask}
		model := &ddpm.Guided{Model: s.model, Scale: 2, NullLabel: s.model.Config.NullLabel()}
		x, err := ddpm.Sample(model, smp, len(labels), px, labels, rng)
		if err != nil {
			t.Fatal(err)
		}
		for i := range x {
			if mask[i] == 1 {
				worst = max(worst, float64(x[i]-x0[i]), float64(x0[i]-x[i]))
			}
		}
		return x
	}
	acc := s.agreement(t, run, func(i int) int { return s.test.Labels[i] })
	t.Logf("inpainting the top half of %d test digits with their labels: %.1f%% read as the label; kept half off by at most %g", digits, 100*acc, worst)
	if acc < 0.90 {
		t.Errorf("%.1f%% of inpainted digits read as their label, want ≥ 90%%", 100*acc)
	}
	if worst != 0 {
		t.Errorf("the kept half changed by up to %g", worst)
	}
}
