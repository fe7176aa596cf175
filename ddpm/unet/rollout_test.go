package unet

import (
	"math"
	"slices"
	"testing"

	"github.com/ddpm-go/ddpm/ddpm"
	"github.com/ddpm-go/ddpm/ddpm/nn"
)

// With Rollout 1 every labelled image whose t + stride is below T trains on
// the EMA network's DDIM step from t + stride (made from the same image and
// noise), towards the noise that leads back to the image; the null-label
// images and those near T keep the forward process's x_t and noise.
func TestRollout(t *testing.T) {
	be := nn.CPU{}
	cfg := tinyConfig()
	const stride = 100
	newTrainer := func(p float64) *Trainer {
		return teacherTrainer(t, TrainConfig{LR: 1e-3, PUncond: 0.3, Rollout: p, RolloutStride: stride})
	}
	const n = 16
	px := cfg.Pixels()
	x0, labels := teacherBatch(cfg, n)
	got, plain := newTrainer(1), newTrainer(0)
	sched := got.Schedule
	loss, err := got.TrainStep(x0, n, labels, ddpm.NewRNG(7))
	if err != nil {
		t.Fatal(err)
	}
	want, err := newTrainer(0).Loss(got.batch.XT, got.batch.Eps, n, got.batch.T, got.batch.Labels)
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(loss-want) > 1e-9*want {
		t.Errorf("the step's loss %v is not the loss on the rolled-out batch, %v", loss, want)
	}
	if _, err := plain.TrainStep(x0, n, labels, ddpm.NewRNG(7)); err != nil {
		t.Fatal(err)
	}
	teacher, err := New(cfg, be, 1)
	if err != nil {
		t.Fatal(err)
	}
	randomize(teacher, 4)
	var rolled, kept int
	for i := 0; i < n; i++ {
		row := func(s []float32) []float32 { return s[i*px : (i+1)*px] }
		tt, l := plain.batch.T[i], plain.batch.Labels[i]
		if got.batch.T[i] != tt || got.batch.Labels[i] != l {
			t.Fatalf("image %d: rollout changed the timestep or the label", i)
		}
		if l == cfg.NullLabel() || tt+stride >= sched.T() {
			kept++
			if !slices.Equal(row(got.batch.XT), row(plain.batch.XT)) || !slices.Equal(row(got.batch.Eps), row(plain.batch.Eps)) {
				t.Errorf("image %d (label %d, t %d): changed, want the forward process's x_t and noise", i, l, tt)
			}
			continue
		}
		rolled++
		from := make([]float32, px)
		sched.QSample(from, row(x0), row(plain.batch.Eps), tt+stride)
		x := be.New(1, cfg.InChannels, cfg.ImageSize, cfg.ImageSize)
		be.Upload(x, from)
		out, err := teacher.Forward(x, []int{tt + stride}, []int{l})
		if err != nil {
			t.Fatal(err)
		}
		epsHat := make([]float32, px)
		be.Download(epsHat, out)
		wantX, wantEps := make([]float32, px), make([]float32, px)
		sched.RolloutStep(wantX, wantEps, from, epsHat, row(x0), tt+stride, tt)
		var diff float64
		for j := range wantX {
			diff = max(diff, math.Abs(float64(row(got.batch.XT)[j]-wantX[j])), math.Abs(float64(row(got.batch.Eps)[j]-wantEps[j])))
		}
		if diff > 1e-5 {
			t.Errorf("image %d (t %d): x_t or target differs from the EMA's DDIM step by %g", i, tt, diff)
		}
		if slices.Equal(row(got.batch.XT), row(plain.batch.XT)) {
			t.Errorf("image %d: x_t is the forward process's", i)
		}
	}
	if rolled == 0 || kept == 0 {
		t.Fatalf("the seed rolled out %d images and kept %d; the test needs both", rolled, kept)
	}
}
