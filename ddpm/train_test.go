package ddpm

import (
	"math"
	"testing"
)

// PerturbInputs makes x_t as QSample would with ε + γ·ξ, ξ the generator's
// next draw, and leaves the target ε alone.
func TestPerturbInputs(t *testing.T) {
	s := NewLinear(1000, 1e-4, 0.02)
	const n, px, gamma = 3, 50, 0.1
	x0 := make([]float32, n*px)
	NewRNG(1).Normal(x0)
	var b Batch
	rng := NewRNG(2)
	s.NoiseBatch(&b, x0, n, nil, 0, 0, rng)
	eps := append([]float32(nil), b.Eps...)
	s.PerturbInputs(&b, gamma, rng)

	// The same draws again, then ξ by hand.
	var want Batch
	rng = NewRNG(2)
	s.NoiseBatch(&want, x0, n, nil, 0, 0, rng)
	xi := make([]float32, n*px)
	rng.Normal(xi)
	for i := range want.Eps {
		want.Eps[i] += gamma * xi[i]
	}
	s.QSampleBatch(want.XT, x0, want.Eps, want.T)
	for i := range b.XT {
		if math.Abs(float64(b.XT[i]-want.XT[i])) > 1e-5 {
			t.Fatalf("x_t[%d] = %g, want %g (t = %d)", i, b.XT[i], want.XT[i], b.T[i/px])
		}
		if b.Eps[i] != eps[i] {
			t.Fatalf("the target ε[%d] moved: %g, was %g", i, b.Eps[i], eps[i])
		}
	}
}

// RolloutStep lands where the DDIM sampler's step does (x̂_0 clipped, the
// noise re-derived), and its target noises the clean image to that x_t.
func TestRolloutStepIsADDIMStep(t *testing.T) {
	s := NewLinear(1000, 1e-4, 0.02)
	d, err := NewDDIM(s, 10, 0) // timesteps 999, 899, …: step 1 goes from 899 to 799
	if err != nil {
		t.Fatal(err)
	}
	rng := NewRNG(3)
	x0, xFrom, eps := randVec(rng, 64), randVec(rng, 64), randVec(rng, 64)
	for i := range eps {
		eps[i] *= 3 // far enough off that some x̂_0 are clipped
	}
	want := make([]float32, 64)
	d.Step(1, want, xFrom, eps, nil, nil)
	xt, target := make([]float32, 64), make([]float32, 64)
	s.RolloutStep(xt, target, xFrom, eps, x0, 899, 799)
	back := make([]float32, 64)
	s.QSample(back, x0, target, 799)
	for i := range xt {
		if math.Abs(float64(xt[i]-want[i])) > 1e-5 || math.Abs(float64(back[i]-xt[i])) > 1e-5 {
			t.Fatalf("value %d: x_t %v, the DDIM sampler's %v; x0 noised with the target %v", i, xt[i], want[i], back[i])
		}
	}
}
