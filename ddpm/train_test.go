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
