package gorgoniaref

import (
	"testing"

	"github.com/ddpm-go/ddpm/ddpm"
	"github.com/ddpm-go/ddpm/ddpm/nn"
	"github.com/ddpm-go/ddpm/ddpm/unet"
	"gorgonia.org/tensor"
)

// The gorgonia engine trains: on one fixed batch the loss falls, and its first
// loss equals the one our kernels compute for the same weights and batch.
func TestGorgoniaTrainerLearns(t *testing.T) {
	cfg := tinyConfig()
	m, _ := unet.New(cfg, nn.CPU{}, 3)
	const n = 4
	net, err := Build(cfg, n, tensor.Float32)
	if err != nil {
		t.Fatal(err)
	}
	tr, err := NewTrainer(net, 3e-3)
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	if err := net.SetWeights(m.Weights.Data); err != nil {
		t.Fatal(err)
	}
	rng := ddpm.NewRNG(1)
	x0 := make([]float32, n*cfg.Pixels())
	rng.Normal(x0)
	var b ddpm.Batch
	ddpm.NewLinear(1000, 1e-4, 0.02).NoiseBatch(&b, x0, n, []int{0, 1, 2, 3}, 0, cfg.NullLabel(), rng)
	ours, err := unet.NewTrainer(m, nil, unet.DefaultTrainConfig()).Gradient(b.XT, b.Eps, n, b.T, b.Labels)
	if err != nil {
		t.Fatal(err)
	}
	var first, last float64
	for i := 0; i < 40; i++ {
		l, err := tr.TrainStep(b.XT, b.Eps, b.T, b.Labels)
		if err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			first = l
		}
		last = l
	}
	if d := first - ours; d > 1e-5*ours || d < -1e-5*ours {
		t.Errorf("gorgonia loss %v, ours %v", first, ours)
	}
	if last > 0.6*first {
		t.Errorf("loss %v → %v after 40 steps, want a clear fall", first, last)
	}
	w, err := tr.Weights()
	if err != nil || len(w) != m.NumParams() {
		t.Fatalf("Weights: %d values, err %v", len(w), err)
	}
}
