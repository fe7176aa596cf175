package classifier

import (
	"math"
	"math/rand/v2"
	"testing"
)

// kidByHand is the unbiased MMD² estimate written as plain double loops.
func kidByHand(x []float32, n int, y []float32, m, dim int) float64 {
	k := func(a, b []float32) float64 {
		var dot float64
		for i := range a {
			dot += float64(a[i]) * float64(b[i])
		}
		v := dot/float64(dim) + 1
		return v * v * v
	}
	row := func(s []float32, i int) []float32 { return s[i*dim : (i+1)*dim] }
	var kxx, kyy, kxy float64
	for i := 0; i < n; i++ {
		for j := 0; j < n; j++ {
			if i != j {
				kxx += k(row(x, i), row(x, j))
			}
		}
		for j := 0; j < m; j++ {
			kxy += k(row(x, i), row(y, j))
		}
	}
	for i := 0; i < m; i++ {
		for j := 0; j < m; j++ {
			if i != j {
				kyy += k(row(y, i), row(y, j))
			}
		}
	}
	return kxx/float64(n*(n-1)) + kyy/float64(m*(m-1)) - 2*kxy/float64(n*m)
}

func TestKID(t *testing.T) {
	r := rand.New(rand.NewPCG(2, 2))
	const dim = 8
	// The blocked matrix computation equals the estimator written out on
	// features scaled by the reference's RMS (more than one block of 256 rows
	// on each side).
	x, y := gaussian(r, 300, dim, 0.2, 1), gaussian(r, 400, dim, 0, 1)
	ref, err := NewKIDReference(y, 400, dim)
	if err != nil {
		t.Fatal(err)
	}
	got, _, err := ref.Distance(x, 300)
	if err != nil {
		t.Fatal(err)
	}
	var sq float64
	for _, v := range y {
		sq += float64(v) * float64(v)
	}
	scale := float32(1 / math.Sqrt(sq/float64(len(y))))
	xs, ys := append([]float32(nil), x...), append([]float32(nil), y...)
	for i := range xs {
		xs[i] *= scale
	}
	for i := range ys {
		ys[i] *= scale
	}
	if want := kidByHand(xs, 300, ys, 400, dim); math.Abs(got-want) > 1e-6*math.Max(1, math.Abs(want)) {
		t.Fatalf("KID %v, by hand %v", got, want)
	}
	// Unbiased: samples of the reference's distribution give 0 within three
	// standard errors, at a small count too; a shift gives far more.
	ref, _ = NewKIDReference(gaussian(r, 2000, dim, 0, 1), 2000, dim)
	for _, c := range []struct {
		n     int
		shift float64
		same  bool
	}{{100, 0, true}, {1000, 0, true}, {1000, 0.3, false}} {
		kid, se, err := ref.Distance(gaussian(r, c.n, dim, c.shift, 1), c.n)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("n=%d shift %.1f: KID %.4g ± %.2g", c.n, c.shift, kid, se)
		if c.same && math.Abs(kid) > 3*se || !c.same && kid < 10*se {
			t.Errorf("n=%d shift %.1f: KID %.4g ± %.2g", c.n, c.shift, kid, se)
		}
	}
	if _, _, err := ref.Distance(x[:5*dim], 5); err == nil {
		t.Error("KID of 5 vectors accepted")
	}
}
