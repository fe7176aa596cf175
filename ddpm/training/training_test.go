package training

import (
	"path/filepath"
	"testing"

	"github.com/ddpm-go/ddpm/ddpm"
	"github.com/ddpm-go/ddpm/ddpm/mnist"
	"github.com/ddpm-go/ddpm/ddpm/nn"
	"github.com/ddpm-go/ddpm/ddpm/unet"
)

func tinySet(n int) *mnist.Set {
	s := &mnist.Set{N: n, Size: 8, Images: make([]float32, n*64), Labels: make([]int, n)}
	ddpm.NewRNG(9).Normal(s.Images)
	for i := range s.Labels {
		s.Labels[i] = i % 3
	}
	return s
}

func tinyTrainer(t *testing.T) *unet.Trainer {
	cfg := unet.Config{ImageSize: 8, InChannels: 1, Channels: 4, Mults: []int{1, 2}, NumResBlocks: 1, Attention: true, Groups: 2, NumClasses: 3}
	m, err := unet.New(cfg, nn.CPU{}, 1)
	if err != nil {
		t.Fatal(err)
	}
	return unet.NewTrainer(m, ddpm.NewLinear(100, 1e-4, 0.02), unet.DefaultTrainConfig())
}

// A run split by a checkpoint (across an epoch boundary) ends with exactly
// the parameters of an uninterrupted run: batches and noise depend only on
// (seed, step).
func TestResumedRunMatchesUninterrupted(t *testing.T) {
	data := tinySet(20)
	const batch, steps, split = 4, 12, 7 // 5 steps per epoch
	straight, err := New(tinyTrainer(t), nil, data, data, batch, 3)
	if err != nil {
		t.Fatal(err)
	}
	for straight.Trainer.Step < steps {
		if _, err := straight.Step(); err != nil {
			t.Fatal(err)
		}
	}
	first, _ := New(tinyTrainer(t), nil, data, data, batch, 3)
	for first.Trainer.Step < split {
		if _, err := first.Step(); err != nil {
			t.Fatal(err)
		}
	}
	path := filepath.Join(t.TempDir(), "c.safetensors")
	if err := first.Trainer.SaveCheckpoint(path, nil); err != nil {
		t.Fatal(err)
	}
	tr, _, err := unet.LoadCheckpoint(path, nn.CPU{})
	if err != nil {
		t.Fatal(err)
	}
	resumed, _ := New(tr, nil, data, data, batch, 3)
	for resumed.Trainer.Step < steps {
		if _, err := resumed.Step(); err != nil {
			t.Fatal(err)
		}
	}
	for i, v := range straight.Trainer.Model.Weights.Data {
		if got := resumed.Trainer.Model.Weights.Data[i]; got != v {
			t.Fatalf("weight %d: resumed %v, uninterrupted %v", i, got, v)
		}
	}
	l1, err := straight.TestLoss(8)
	if err != nil {
		t.Fatal(err)
	}
	l2, _ := resumed.TestLoss(8)
	if l1 != l2 || !(l1 > 0) {
		t.Errorf("test losses %v and %v", l1, l2)
	}
}

// The test loss draws the same noise whatever the training batch, so runs
// at different -batch report comparable values.
func TestTestLossIgnoresBatch(t *testing.T) {
	data := tinySet(150) // more than two of TestLoss's chunks
	tr := tinyTrainer(t)
	var losses []float64
	for _, batch := range []int{4, 64, 128} {
		r, err := New(tr, nil, data, data, batch, 1)
		if err != nil {
			t.Fatal(err)
		}
		l, err := r.TestLoss(150)
		if err != nil {
			t.Fatal(err)
		}
		losses = append(losses, l)
	}
	if losses[0] != losses[1] || losses[1] != losses[2] || !(losses[0] > 0) {
		t.Errorf("test losses at batch 4, 64, 128: %v", losses)
	}
}

func TestNewRejects(t *testing.T) {
	data := tinySet(20)
	if _, err := New(tinyTrainer(t), nil, data, data, 21, 1); err == nil {
		t.Error("batch larger than the data accepted")
	}
	big := &mnist.Set{N: 4, Size: 32, Images: make([]float32, 4*1024), Labels: make([]int, 4)}
	if _, err := New(tinyTrainer(t), nil, big, big, 2, 1); err == nil {
		t.Error("32×32 data accepted for an 8×8 model")
	}
}

// The gorgonia engine trains the same network: its loss falls on a fixed
// small data set and it keeps the trainer's step and EMA up to date.
func TestGorgoniaEngine(t *testing.T) {
	data := tinySet(8)
	tr := tinyTrainer(t)
	tr.Config.LR = 3e-3
	e, err := NewGorgoniaEngine(tr, 4)
	if err != nil {
		t.Fatal(err)
	}
	r, _ := New(tr, e, data, data, 4, 1)
	before, _ := r.TestLoss(8)
	for i := 0; i < 30; i++ {
		if _, err := r.Step(); err != nil {
			t.Fatal(err)
		}
	}
	after, _ := r.TestLoss(8)
	if tr.Step != 30 || !(after < before) {
		t.Errorf("step %d, test loss %v → %v", tr.Step, before, after)
	}
}
