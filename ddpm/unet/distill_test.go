package unet

import (
	"math"
	"slices"
	"testing"

	"github.com/ddpm-go/ddpm/ddpm"
	"github.com/ddpm-go/ddpm/ddpm/nn"
)

// TestNullDistill checks the targets of a step with NullDistill against a
// step without it from the same random stream: the same x_t, timesteps and
// label drop; the kept labels' targets are still the noise, and each dropped
// label's target is the EMA network's prediction for that image alone under
// its true label.
// teacherTrainer returns a trainer of the tiny network (weights randomized
// with seed 3) whose EMA, randomized with seed 4, is unlike its weights, so
// a target made from the weights instead of the EMA fails.
func teacherTrainer(t *testing.T, tc TrainConfig) *Trainer {
	t.Helper()
	be, cfg := nn.CPU{}, tinyConfig()
	m, err := New(cfg, be, 1)
	if err != nil {
		t.Fatal(err)
	}
	randomize(m, 3)
	tr := NewTrainer(m, ddpm.NewLinear(1000, 1e-4, 0.02), tc)
	ema, err := New(cfg, be, 1)
	if err != nil {
		t.Fatal(err)
	}
	randomize(ema, 4)
	be.Copy(tr.EMA, ema.Weights)
	return tr
}

// teacherBatch returns n fixed images for cfg and labels 0, 1, … in turn.
func teacherBatch(cfg Config, n int) ([]float32, []int) {
	x0 := make([]float32, n*cfg.Pixels())
	labels := make([]int, n)
	for i := range x0 {
		x0[i] = float32(math.Sin(float64(i)))
	}
	for i := range labels {
		labels[i] = i % cfg.NumClasses
	}
	return x0, labels
}

func TestNullDistill(t *testing.T) {
	be := nn.CPU{}
	cfg := tinyConfig()
	newTrainer := func(distill bool) *Trainer {
		return teacherTrainer(t, TrainConfig{LR: 1e-3, PUncond: 0.5, NullDistill: distill})
	}
	const n = 8
	px := cfg.Pixels()
	x0, labels := teacherBatch(cfg, n)
	got, plain := newTrainer(true), newTrainer(false)
	loss, err := got.TrainStep(x0, n, labels, ddpm.NewRNG(5))
	if err != nil {
		t.Fatal(err)
	}
	// The step must have trained on the distilled targets: its loss is that
	// of the (unchanged) starting weights on them.
	want, err := newTrainer(false).Loss(got.batch.XT, got.batch.Eps, n, got.batch.T, got.batch.Labels)
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(loss-want) > 1e-9*want {
		t.Errorf("the step's loss %v is not the loss on the distilled targets, %v", loss, want)
	}
	if _, err := plain.TrainStep(x0, n, labels, ddpm.NewRNG(5)); err != nil {
		t.Fatal(err)
	}
	teacher, err := New(cfg, be, 1)
	if err != nil {
		t.Fatal(err)
	}
	randomize(teacher, 4)
	var dropped, kept int
	for i := 0; i < n; i++ {
		rows := func(s []float32) []float32 { return s[i*px : (i+1)*px] }
		if got.batch.T[i] != plain.batch.T[i] || got.batch.Labels[i] != plain.batch.Labels[i] || !slices.Equal(rows(got.batch.XT), rows(plain.batch.XT)) {
			t.Fatalf("image %d: distillation changed the batch itself", i)
		}
		if got.batch.Labels[i] != cfg.NullLabel() {
			kept++
			if !slices.Equal(rows(got.batch.Eps), rows(plain.batch.Eps)) {
				t.Errorf("image %d (label kept): target is not the noise", i)
			}
			continue
		}
		dropped++
		x := be.New(1, cfg.InChannels, cfg.ImageSize, cfg.ImageSize)
		be.Upload(x, rows(got.batch.XT))
		out, err := teacher.Forward(x, []int{got.batch.T[i]}, []int{labels[i]})
		if err != nil {
			t.Fatal(err)
		}
		want := make([]float32, px)
		be.Download(want, out)
		var diff, far float64
		for j, v := range rows(got.batch.Eps) {
			diff = math.Max(diff, math.Abs(float64(v-want[j])))
			far = math.Max(far, math.Abs(float64(v-rows(plain.batch.Eps)[j])))
		}
		if diff > 1e-5 || far < 0.1 {
			t.Errorf("image %d (label dropped): target differs from the EMA's prediction by %g and from the noise by %g", i, diff, far)
		}
	}
	if dropped == 0 || kept == 0 {
		t.Fatalf("the seed dropped %d labels and kept %d; the test needs both", dropped, kept)
	}
}
