package unet

import (
	"math"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ddpm-go/ddpm/ddpm"
	"github.com/ddpm-go/ddpm/ddpm/nn"
	"github.com/ddpm-go/ddpm/ddpm/safetensors"
)

// trainSteps runs steps [from, to) with per-step RNGs, as the trainer CLI does.
func trainSteps(t *testing.T, tr *Trainer, from, to int) {
	t.Helper()
	cfg := tr.Model.Config
	const n = 4
	for s := from; s < to; s++ {
		rng := ddpm.NewRNG(uint64(1000 + s))
		x0 := make([]float32, n*cfg.Pixels())
		rng.Normal(x0)
		if _, err := tr.TrainStep(x0, n, []int{0, 1, 2, 3}, rng); err != nil {
			t.Fatal(err)
		}
	}
}

func TestCheckpointResumeIsExact(t *testing.T) {
	be := nn.CPU{}
	sched := ddpm.NewLinear(1000, 1e-4, 0.02)
	newTrainer := func() *Trainer {
		m, _ := New(tinyConfig(), be, 5)
		return NewTrainer(m, sched, DefaultTrainConfig())
	}
	straight := newTrainer()
	trainSteps(t, straight, 0, 6)

	first := newTrainer()
	trainSteps(t, first, 0, 3)
	path := filepath.Join(t.TempDir(), "ckpt.safetensors")
	if err := first.SaveCheckpoint(path, map[string]string{"seed": "1"}); err != nil {
		t.Fatal(err)
	}
	resumed, meta, err := LoadCheckpoint(path, be)
	if err != nil {
		t.Fatal(err)
	}
	if resumed.Step != 3 || meta["seed"] != "1" {
		t.Fatalf("resumed at step %d, meta %v", resumed.Step, meta)
	}
	trainSteps(t, resumed, 3, 6)
	for name, pair := range map[string][2]*nn.Tensor{
		"weights": {straight.Model.Weights, resumed.Model.Weights},
		"ema":     {straight.EMA, resumed.EMA},
		"adam m":  {straight.M, resumed.M},
		"adam v":  {straight.V, resumed.V},
	} {
		for i, v := range pair[0].Data {
			if pair[1].Data[i] != v {
				t.Fatalf("%s[%d]: resumed %v, uninterrupted %v", name, i, pair[1].Data[i], v)
			}
		}
	}
}

func TestLoadCheckpointRejectsWeightsFile(t *testing.T) {
	m, _ := New(tinyConfig(), nn.CPU{}, 1)
	path := filepath.Join(t.TempDir(), "w.safetensors")
	if err := m.Save(path, m.Weights, safetensors.F32, nil); err != nil {
		t.Fatal(err)
	}
	if _, _, err := LoadCheckpoint(path, nn.CPU{}); err == nil || !strings.Contains(err.Error(), "not a training checkpoint") {
		t.Errorf("error %v", err)
	}
	// A checkpoint holds the named weights plus the EMA and Adam moments.
	tr := NewTrainer(m, ddpm.NewLinear(10, 1e-4, 0.02), DefaultTrainConfig())
	if err := tr.SaveCheckpoint(path, nil); err != nil {
		t.Fatal(err)
	}
	f, err := safetensors.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(f.Tensors) != len(m.Params)+3 {
		t.Errorf("checkpoint holds %d tensors", len(f.Tensors))
	}
}

// A NaN loss stops the step before Adam touches the weights.
func TestTrainStepRejectsNaN(t *testing.T) {
	m, _ := New(tinyConfig(), nn.CPU{}, 1)
	tr := NewTrainer(m, ddpm.NewLinear(100, 1e-4, 0.02), DefaultTrainConfig())
	before := append([]float32(nil), m.Weights.Data...)
	x0 := make([]float32, 2*m.Config.Pixels())
	x0[5] = float32(math.NaN())
	if _, err := tr.TrainStep(x0, 2, []int{0, 1}, ddpm.NewRNG(1)); err == nil || !strings.Contains(err.Error(), "NaN") {
		t.Fatalf("error %v, want one about a NaN loss", err)
	}
	if tr.Step != 0 {
		t.Errorf("step advanced to %d", tr.Step)
	}
	for i, v := range before {
		if m.Weights.Data[i] != v {
			t.Fatal("weights changed by a NaN step")
		}
	}
}
