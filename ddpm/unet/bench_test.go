package unet

import (
	"fmt"
	"testing"

	"github.com/ddpm-go/ddpm/ddpm"
	"github.com/ddpm-go/ddpm/ddpm/nn"
)

func benchConfig(c int) Config {
	cfg := DefaultConfig()
	cfg.Channels = c
	return cfg
}

// BenchmarkForward is one noise prediction of the default network (C=16),
// of the small one the web page offers (C=8), of the default with 64
// channels at 8×8 (mults 1,2,4: what cmd/widen made for issue 12), of the
// default with the embedding scale (cmd/widen -emb-scale) and of C=32 (the
// network trained on the GPU for issue 12).
func BenchmarkForward(b *testing.B) {
	wide := DefaultConfig()
	wide.Mults = []int{1, 2, 4}
	scaled := benchConfig(16)
	scaled.EmbScale = true
	for _, net := range []struct {
		name string
		cfg  Config
	}{{"C=16", benchConfig(16)}, {"C=8", benchConfig(8)}, {"C=16,mults=1,2,4", wide}, {"C=16,emb-scale", scaled}, {"C=32", benchConfig(32)}} {
		for _, n := range []int{1, 16, 32, 64} {
			benchForward(b, net.name, net.cfg, n)
		}
	}
}

func benchForward(b *testing.B, name string, cfg Config, n int) {
	// In WebAssembly, with and without the SIMD kernels (nn.SetWasmSIMD).
	type mode struct {
		suffix string
		simd   bool
	}
	modes := []mode{{"", false}}
	if nn.SetWasmSIMD(true) {
		modes = []mode{{"/simd=off", false}, {"/simd=on", true}}
	}
	for _, md := range modes {
		b.Run(fmt.Sprintf("%s/batch=%d%s", name, n, md.suffix), func(b *testing.B) {
			nn.SetWasmSIMD(md.simd)
			defer nn.SetWasmSIMD(true)
			m, _ := New(cfg, nn.CPU{}, 1)
			x := make([]float32, n*m.Config.Pixels())
			ddpm.NewRNG(1).Normal(x)
			eps := make([]float32, len(x))
			labels := make([]int, n)
			for b.Loop() {
				if err := m.PredictNoise(eps, x, n, 500, labels); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkTrainStep is forward + backward + Adam + EMA at batch 64.
func BenchmarkTrainStep(b *testing.B) {
	for _, c := range []int{8, 16, 32} {
		b.Run(fmt.Sprintf("C=%d/batch=64", c), func(b *testing.B) {
			m, _ := New(benchConfig(c), nn.CPU{}, 1)
			tr := NewTrainer(m, ddpm.NewLinear(1000, 1e-4, 0.02), DefaultTrainConfig())
			const n = 64
			rng := ddpm.NewRNG(1)
			x0 := make([]float32, n*m.Config.Pixels())
			rng.Normal(x0)
			labels := make([]int, n)
			for b.Loop() {
				if _, err := tr.TrainStep(x0, n, labels, rng); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkGuidedStep is one web worker's share of a page step: one DDIM step
// with guidance 2 for 8 digits (a batch of 16 through the network), the
// default network and the small one.
func BenchmarkGuidedStep(b *testing.B) {
	for _, c := range []int{16, 8} {
		b.Run(fmt.Sprintf("C=%d/digits=8", c), func(b *testing.B) {
			m, _ := New(benchConfig(c), nn.CPU{}, 1)
			sched := ddpm.NewLinear(1000, 1e-4, 0.02)
			const n = 8
			labels := make([]int, n)
			for i := range labels {
				labels[i] = i
			}
			model := &ddpm.Guided{Model: m, Scale: 2, NullLabel: m.Config.NullLabel()}
			var p *ddpm.Process
			for b.Loop() {
				if p == nil || p.Done() {
					s, err := ddpm.NewSampler("ddim", sched, 50, 0)
					if err != nil {
						b.Fatal(err)
					}
					if p, err = ddpm.NewProcess(model, s, n, m.Config.Pixels(), labels, ddpm.NewRNG(1)); err != nil {
						b.Fatal(err)
					}
				}
				if err := p.Step(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
