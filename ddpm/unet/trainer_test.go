package unet

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/ddpm-go/ddpm/ddpm"
	"github.com/ddpm-go/ddpm/ddpm/nn"
)

func TestLRAt(t *testing.T) {
	c := TrainConfig{LR: 1e-3}
	for _, tc := range []struct {
		warmup, from, to, step int
		want                   float64
	}{
		{0, 0, 0, 1, 1e-3},       // constant
		{0, 0, 0, 99999, 1e-3},   // constant
		{100, 0, 0, 1, 1e-5},     // warm-up: step/100
		{100, 0, 0, 50, 5e-4},    // warm-up
		{100, 0, 0, 100, 1e-3},   // warmed up
		{0, 100, 300, 100, 1e-3}, // decay not started
		{0, 100, 300, 200, 5e-4}, // half-way down the cosine
		{0, 100, 300, 300, 0},    // at the end
		{0, 100, 300, 400, 0},    // past it
		{100, 100, 300, 150, 1e-3 * 0.5 * (1 + math.Cos(math.Pi/4))},
	} {
		c.Warmup, c.DecayFrom, c.DecayTo = tc.warmup, tc.from, tc.to
		if got := c.LRAt(tc.step); math.Abs(got-tc.want) > 1e-15 {
			t.Errorf("warmup %d, decay %d→%d: LRAt(%d) = %g, want %g", tc.warmup, tc.from, tc.to, tc.step, got, tc.want)
		}
	}
}

func TestLossWeight(t *testing.T) {
	s := ddpm.NewLinear(1000, 1e-4, 0.02)
	c := TrainConfig{}
	if w := c.LossWeight(s, 0); w != 1 {
		t.Errorf("without min-SNR the weight is %v, want 1", w)
	}
	c.MinSNRGamma = 5
	for _, ti := range []int{0, 10, 100, 500, 999} {
		snr := s.AlphaBar[ti] / (1 - s.AlphaBar[ti])
		want := math.Min(snr, 5) / snr
		if w := c.LossWeight(s, ti); math.Abs(w-want) > 1e-12 || w <= 0 || w > 1 {
			t.Errorf("t=%d: weight %v, want %v in (0, 1]", ti, w, want)
		}
	}
	if c.LossWeight(s, 999) != 1 || c.LossWeight(s, 0) > 1e-3 {
		t.Errorf("min-SNR-5 should weigh pure noise 1 and the cleanest step ≪ 1: %v, %v", c.LossWeight(s, 999), c.LossWeight(s, 0))
	}
}

// TestX0Floor checks the x̂₀ floor by hand at a few timesteps: the weight of
// an x̂₀ error (ε-weight × SNR) never falls below κ, and the floor leaves
// alone the timesteps whose weight is above it.
func TestX0Floor(t *testing.T) {
	s := ddpm.NewLinear(1000, 1e-4, 0.02)
	snr := func(ti int) float64 { return s.AlphaBar[ti] / (1 - s.AlphaBar[ti]) }
	for _, tc := range []struct {
		gamma, kappa float64
		t            int
		want         float64
	}{
		{0, 0.01, 999, 0.01 / snr(999)}, // pure noise: the floor, about 250
		{0, 0.01, 500, 1},               // SNR 0.084 > κ: the plain weight
		{0, 0.01, 800, 0.01 / snr(800)}, // SNR 0.0015 < κ
		{5, 0.01, 0, 5 / snr(0)},        // min-SNR still lowers clean steps
		{5, 0.01, 999, 0.01 / snr(999)}, // and the floor raises the noisiest
		{5, 0, 999, 1},                  // no floor: min-SNR alone
		{0, 10, 100, 10 / snr(100)},     // a floor above min-SNR's cap wins
	} {
		c := TrainConfig{MinSNRGamma: tc.gamma, X0Floor: tc.kappa}
		if !c.Weighted() {
			t.Fatalf("γ=%v κ=%v: Weighted() = false", tc.gamma, tc.kappa)
		}
		w := c.LossWeight(s, tc.t)
		if math.Abs(w-tc.want) > 1e-9*tc.want {
			t.Errorf("γ=%v κ=%v t=%d: weight %v, want %v", tc.gamma, tc.kappa, tc.t, w, tc.want)
		}
		if x0 := w * snr(tc.t); tc.kappa > 0 && x0 < tc.kappa*(1-1e-12) {
			t.Errorf("γ=%v κ=%v t=%d: x̂₀ weight %v below the floor", tc.gamma, tc.kappa, tc.t, x0)
		}
	}
	if w := (TrainConfig{X0Floor: 0.01}).LossWeight(s, 999); w < 200 || w > 300 {
		t.Errorf("κ=0.01 at t=999: weight %v, want about 250 (SNR 4e-5)", w)
	}
}

// TestMinSNRGradient checks the weighted loss and its gradient against
// single-image passes: per image the network is independent of the rest of
// the batch, so the weighted batch gradient is Σ_i (w_i/n)·∇mse_i.
func TestMinSNRGradient(t *testing.T) {
	be := nn.CPU{}
	m, err := New(tinyConfig(), be, 1)
	if err != nil {
		t.Fatal(err)
	}
	randomize(m, 3)
	s := ddpm.NewLinear(1000, 1e-4, 0.02)
	tr := NewTrainer(m, s, TrainConfig{LR: 1e-3, MinSNRGamma: 5})
	const n = 3
	px := m.Config.Pixels()
	r := rand.New(rand.NewPCG(7, 7))
	xt, eps := make([]float32, n*px), make([]float32, n*px)
	for i := range xt {
		xt[i], eps[i] = float32(r.NormFloat64()), float32(r.NormFloat64())
	}
	ts, labels := []int{2, 300, 990}, []int{0, 1, 2}
	loss, err := tr.Gradient(xt, eps, n, ts, labels)
	if err != nil {
		t.Fatal(err)
	}
	got := append([]float32(nil), m.Grads.Data...)

	plain := NewTrainer(m, s, TrainConfig{LR: 1e-3})
	want := make([]float64, len(got))
	var wantLoss float64
	for i := 0; i < n; i++ {
		l, err := plain.Gradient(xt[i*px:(i+1)*px], eps[i*px:(i+1)*px], 1, ts[i:i+1], labels[i:i+1])
		if err != nil {
			t.Fatal(err)
		}
		w := tr.Config.LossWeight(s, ts[i]) / n
		wantLoss += w * l
		for j, g := range m.Grads.Data {
			want[j] += w * float64(g)
		}
	}
	if math.Abs(loss-wantLoss) > 1e-6*math.Abs(wantLoss) {
		t.Errorf("weighted loss %v, want %v", loss, wantLoss)
	}
	var maxDiff, maxAbs float64
	for j := range got {
		maxDiff = math.Max(maxDiff, math.Abs(float64(got[j])-want[j]))
		maxAbs = math.Max(maxAbs, math.Abs(want[j]))
	}
	if maxDiff > 1e-5*maxAbs {
		t.Errorf("weighted gradient differs from the per-image sum by %g (largest gradient %g)", maxDiff, maxAbs)
	}
	// The weights must matter: the cleanest image's is ≪ 1.
	if w := tr.Config.LossWeight(s, ts[0]); w > 0.01 {
		t.Fatalf("test needs a small weight at t=%d, got %v", ts[0], w)
	}
}

// TestMinSNRScalesEachElement: one image at the cleanest timestep, whose
// weight is tiny, gets w times the plain gradient in every element (a
// scaling done as g + (w−1)·g would lose most of the digits there).
func TestMinSNRScalesEachElement(t *testing.T) {
	m, err := New(tinyConfig(), nn.CPU{}, 1)
	if err != nil {
		t.Fatal(err)
	}
	randomize(m, 4)
	s := ddpm.NewLinear(1000, 1e-4, 0.02)
	px := m.Config.Pixels()
	r := rand.New(rand.NewPCG(8, 8))
	xt, eps := make([]float32, px), make([]float32, px)
	for i := range xt {
		xt[i], eps[i] = float32(r.NormFloat64()), float32(r.NormFloat64())
	}
	plain := NewTrainer(m, s, TrainConfig{})
	if _, err := plain.Gradient(xt, eps, 1, []int{0}, []int{1}); err != nil {
		t.Fatal(err)
	}
	want := append([]float32(nil), m.Grads.Data...)
	weighted := NewTrainer(m, s, TrainConfig{MinSNRGamma: 5})
	if _, err := weighted.Gradient(xt, eps, 1, []int{0}, []int{1}); err != nil {
		t.Fatal(err)
	}
	w := weighted.Config.LossWeight(s, 0)
	if w > 1e-3 {
		t.Fatalf("the test needs a tiny weight at t = 0, got %v", w)
	}
	var maxDiff, maxAbs float64
	for j, g := range m.Grads.Data {
		maxDiff = math.Max(maxDiff, math.Abs(float64(g)-w*float64(want[j])))
		maxAbs = math.Max(maxAbs, math.Abs(w*float64(want[j])))
	}
	t.Logf("largest difference %.3g of the largest gradient", maxDiff/maxAbs)
	if maxDiff > 3e-6*maxAbs {
		t.Errorf("weighted gradient differs from w·plain by %.3g of the largest gradient", maxDiff/maxAbs)
	}
}
