package unet

import (
	"testing"

	"github.com/ddpm-go/ddpm/ddpm"
	"github.com/ddpm-go/ddpm/ddpm/mnist"
	"github.com/ddpm-go/ddpm/ddpm/nn"
)

// A short run on a few hundred real MNIST digits: the noise-prediction loss
// must fall clearly (the mean of the last 20 steps below 60% of the first 10).
func TestTrainOnMNIST(t *testing.T) {
	dir, err := mnist.DefaultDir()
	if err != nil {
		t.Fatal(err)
	}
	data, err := mnist.Load(dir, mnist.Test, 32)
	if err != nil {
		t.Fatal(err)
	}
	cfg := DefaultConfig()
	cfg.Channels = 8
	cfg.Groups = 4
	m, err := New(cfg, nn.CPU{}, 1)
	if err != nil {
		t.Fatal(err)
	}
	tc := DefaultTrainConfig()
	tc.LR = 1e-3
	tr := NewTrainer(m, ddpm.NewLinear(1000, 1e-4, 0.02), tc)
	rng := ddpm.NewRNG(1)
	const images, batch, steps = 320, 8, 200
	x0 := make([]float32, batch*cfg.Pixels())
	labels := make([]int, batch)
	var first, last float64
	for s := 0; s < steps; s++ {
		for i := 0; i < batch; i++ {
			j := rng.IntN(images)
			copy(x0[i*cfg.Pixels():], data.Image(j))
			labels[i] = data.Labels[j]
		}
		loss, err := tr.TrainStep(x0, batch, labels, rng)
		if err != nil {
			t.Fatal(err)
		}
		if s < 10 {
			first += loss / 10
		}
		if s >= steps-20 {
			last += loss / 20
		}
	}
	t.Logf("loss: first 10 steps %.4f, last 20 steps %.4f", first, last)
	if last > 0.6*first {
		t.Errorf("loss fell from %.4f to only %.4f", first, last)
	}
}
