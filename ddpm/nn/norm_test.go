package nn

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestNormHelpers checks GroupNorm's inner loops (AVX2 where this build has
// them) against the plain Go ones, at every length up to 70 and offset
// inputs, so both the SIMD blocks and the tails are covered.
func TestNormHelpers(t *testing.T) {
	if !haveNormSIMD {
		t.Skip("no SIMD GroupNorm loops in this build: nothing to compare")
	}
	r := rand.New(rand.NewPCG(5, 5))
	close := func(a, b float64) bool { return math.Abs(a-b) <= 1e-6*(1+math.Abs(b)) }
	for n := 0; n <= 70; n++ {
		x, dy := randTensor(r, n+1).Data[1:], randTensor(r, n+1).Data[1:] // odd offsets
		for i := range x {
			x[i] += 3 // a mean far from 0
		}
		mu := sum64Go(x) / float64(max(n, 1))
		if got, want := sum64(x), sum64Go(x); !close(got, want) {
			t.Errorf("n=%d: sum %v, want %v", n, got, want)
		}
		if got, want := sumSqDev64(x, mu), sumSqDev64Go(x, mu); !close(got, want) {
			t.Errorf("n=%d: sum of squares %v, want %v", n, got, want)
		}
		gx, gs := normGradSums(dy, x, 0.7, float32(mu), 1.3)
		wx, ws := normGradSumsGo(dy, x, 0.7, float32(mu), 1.3)
		if !close(gx, wx) || !close(gs, ws) {
			t.Errorf("n=%d: grad sums %v, %v, want %v, %v", n, gx, gs, wx, ws)
		}
		y, want := make([]float32, n), make([]float32, n)
		affine(y, x, 0.7, -0.2)
		affineGo(want, x, 0.7, -0.2)
		for i := range y {
			if !close(float64(y[i]), float64(want[i])) {
				t.Fatalf("n=%d: affine[%d] %v, want %v", n, i, y[i], want[i])
			}
		}
		normDx(y, dy, x, 0.7, float32(mu), 1.3, 0.1, -0.4)
		normDxGo(want, dy, x, 0.7, float32(mu), 1.3, 0.1, -0.4)
		for i := range y {
			if !close(float64(y[i]), float64(want[i])) {
				t.Fatalf("n=%d: dx[%d] %v, want %v", n, i, y[i], want[i])
			}
		}
	}
}
