//go:build linux && (amd64 || arm64)

package cuda

import (
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/ddpm-go/ddpm/ddpm"
	"github.com/ddpm-go/ddpm/ddpm/nn"
	"github.com/ddpm-go/ddpm/ddpm/unet"
)

// TestTrainStepMatchesCPU trains the default network for 3 steps on the GPU
// and on the CPU from the same weights, batch and noise: the loss, every
// parameter's gradient and the parameters after the 3 Adam steps must agree
// within 1e-3 relative (norm-wise per parameter).
func TestTrainStepMatchesCPU(t *testing.T) {
	gpu := gpuOrSkip(t)
	for name, r := range recipes() {
		t.Run(name, func(t *testing.T) { compareTraining(t, nn.CPU{}, gpu, r.cfg, r.tc) })
	}
}

type recipe struct {
	cfg unet.Config
	tc  unet.TrainConfig
}

// recipes are the networks and training configurations compared: the
// default, one with a learning-rate schedule and min-SNR weighting
// (per-image views), and the default network with the embedding scale.
func recipes() map[string]recipe {
	c := unet.DefaultTrainConfig()
	c.Warmup, c.DecayFrom, c.DecayTo, c.MinSNRGamma = 2, 2, 4, 5
	scaled := unet.DefaultConfig()
	scaled.EmbScale = true
	return map[string]recipe{
		"default":          {unet.DefaultConfig(), unet.DefaultTrainConfig()},
		"schedule+min-SNR": {unet.DefaultConfig(), c},
		"emb-scale":        {scaled, unet.DefaultTrainConfig()},
	}
}

// TestTrainingComparisonOnCPU runs the same comparison CPU against CPU, so it
// is exercised on machines without a GPU (and must agree exactly).
func TestTrainingComparisonOnCPU(t *testing.T) {
	for name, r := range recipes() {
		t.Run(name, func(t *testing.T) { compareTraining(t, nn.CPU{}, nn.CPU{}, r.cfg, r.tc) })
	}
}

func compareTraining(t *testing.T, ref, be nn.Backend, cfg unet.Config, tc unet.TrainConfig) {
	const n, tol = 16, 1e-3
	newTrainer := func(b nn.Backend) *unet.Trainer {
		m, err := unet.New(cfg, b, 7)
		if err != nil {
			t.Fatal(err)
		}
		if cfg.EmbScale {
			randomScales(m)
		}
		return unet.NewTrainer(m, ddpm.NewLinear(1000, 1e-4, 0.02), tc)
	}
	trRef, trBe := newTrainer(ref), newTrainer(be)
	x0 := make([]float32, n*cfg.Pixels())
	ddpm.NewRNG(11).Normal(x0)
	labels := make([]int, n)
	for i := range labels {
		labels[i] = i % 10
	}
	rngRef, rngBe := ddpm.NewRNG(3), ddpm.NewRNG(3)
	for step := 1; step <= 3; step++ {
		want, err := trRef.TrainStep(x0, n, labels, rngRef)
		if err != nil {
			t.Fatal(err)
		}
		got, err := trBe.TrainStep(x0, n, labels, rngBe)
		if err != nil {
			t.Fatal(err)
		}
		if d := math.Abs(got-want) / want; d > tol {
			t.Errorf("step %d: loss %v, want %v (relative difference %.2g)", step, got, want, d)
		}
		if step == 1 {
			worst := compareParams(t, "gradient", trRef.Model, trRef.Model.Grads, trBe.Model, trBe.Model.Grads, tol)
			t.Logf("step 1: loss %.6f vs %.6f; largest gradient difference %s", got, want, worst)
		}
	}
	worst := compareParams(t, "weights after 3 steps", trRef.Model, trRef.Model.Weights, trBe.Model, trBe.Model.Weights, tol)
	t.Logf("largest difference of the weights after 3 steps: %s", worst)
	compareParams(t, "EMA after 3 steps", trRef.Model, trRef.EMA, trBe.Model, trBe.EMA, tol)
}

// randomScales sets the embedding scales, which start at zero, to small
// fixed values: from zero, Adam's first steps move every weight by about the
// learning rate whatever its gradient, so a relative comparison of them
// would measure the learning rate, not the kernels.
func randomScales(m *unet.Model) {
	w := make([]float32, m.NumParams())
	m.Backend.Download(w, m.Weights)
	off := 0
	for _, p := range m.Params {
		n := p.W.Len()
		if strings.Contains(p.Name, ".temb_scale.") {
			for i := range n {
				w[off+i] = 0.05 * float32(math.Sin(float64(off+i)))
			}
		}
		off += n
	}
	m.Backend.Upload(m.Weights, w)
}

// compareParams compares two flat parameter buffers parameter by parameter
// (‖got − want‖ / ‖want‖) and returns the worst one as text.
func compareParams(t *testing.T, what string, mRef *unet.Model, ref *nn.Tensor, mBe *unet.Model, got *nn.Tensor, tol float64) string {
	t.Helper()
	want, have := make([]float32, ref.Len()), make([]float32, got.Len())
	mRef.Backend.Download(want, ref)
	mBe.Backend.Download(have, got)
	worst, worstName, off := 0.0, "", 0
	for _, p := range mRef.Params {
		size := p.W.Len()
		var d2, w2 float64
		for i := off; i < off+size; i++ {
			d := float64(have[i]) - float64(want[i])
			d2 += d * d
			w2 += float64(want[i]) * float64(want[i])
		}
		off += size
		rel := math.Sqrt(d2 / math.Max(w2, 1e-60))
		if math.IsNaN(rel) || rel > tol {
			t.Errorf("%s of %s: relative difference %.3g > %g", what, p.Name, rel, tol)
		}
		if rel > worst || worstName == "" {
			worst, worstName = rel, p.Name
		}
	}
	return fmt.Sprintf("%.3g (%s)", worst, worstName)
}

// BenchmarkTrainStep is one training step (forward, backward, Adam, EMA) of
// the default network on the GPU.
func BenchmarkTrainStep(b *testing.B) {
	g := gpuOrSkip(b)
	for _, tf32 := range []bool{false, true} {
		for _, n := range []int{64, 256} {
			b.Run(fmt.Sprintf("tf32=%v/batch=%d", tf32, n), func(b *testing.B) {
				g.setTF32(tf32)
				defer g.setTF32(false)
				cfg := unet.DefaultConfig()
				m, err := unet.New(cfg, g, 1)
				if err != nil {
					b.Fatal(err)
				}
				tr := unet.NewTrainer(m, ddpm.NewLinear(1000, 1e-4, 0.02), unet.DefaultTrainConfig())
				rng := ddpm.NewRNG(1)
				x0 := make([]float32, n*cfg.Pixels())
				rng.Normal(x0)
				labels := make([]int, n)
				for b.Loop() {
					if _, err := tr.TrainStep(x0, n, labels, rng); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "steps/s")
				b.ReportMetric(float64(b.N*n)/b.Elapsed().Seconds(), "images/s")
			})
		}
	}
}
