package classifier

import (
	"math"
	"math/rand/v2"
	"testing"
)

func gaussian(r *rand.Rand, n, dim int, shift, scale float64) []float32 {
	x := make([]float32, n*dim)
	for i := range x {
		x[i] = float32(r.NormFloat64()*scale + shift)
	}
	return x
}

func TestFrechetDistance(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 1))
	const n, dim = 20000, 4
	a := gaussian(r, n, dim, 0, 1)
	for _, tc := range []struct {
		name         string
		shift, scale float64
		want         float64
	}{
		// Mean shift d in every coordinate: dim·d². Scale s: dim·(1 − s)².
		{"same", 0, 1, 0},
		{"shifted", 0.5, 1, dim * 0.25},
		{"scaled", 0, 2, dim * 1},
	} {
		b := gaussian(r, n, dim, tc.shift, tc.scale)
		got, err := FrechetDistance(a, n, b, n, dim)
		if err != nil {
			t.Fatal(err)
		}
		if math.Abs(got-tc.want) > 0.05 {
			t.Errorf("%s: FD %.4f, want %.4f", tc.name, got, tc.want)
		}
	}
	if _, err := FrechetDistance(a[:dim], 1, a, n, dim); err == nil {
		t.Error("FD of one vector: no error")
	}
}

// A reference fitted once measures the same as FrechetDistance, call after
// call, and refuses sets of the wrong width.
func TestFrechetReference(t *testing.T) {
	r := rand.New(rand.NewPCG(2, 2))
	const n, dim = 500, 8
	ref := gaussian(r, 4*n, dim, 0, 1)
	fr, err := NewFrechetReference(ref, 4*n, dim)
	if err != nil {
		t.Fatal(err)
	}
	for k := 0; k < 3; k++ {
		x := gaussian(r, n, dim, 0.1*float64(k), 1)
		want, err := FrechetDistance(x, n, ref, 4*n, dim)
		if err != nil {
			t.Fatal(err)
		}
		if got, err := fr.Distance(x, n); err != nil || got != want {
			t.Errorf("set %d: reference says %v (%v), FrechetDistance %v", k, got, err, want)
		}
	}
	if _, err := fr.Distance(ref[:n*(dim-1)], n); err == nil {
		t.Error("vectors of the wrong width: no error")
	}
	if _, err := NewFrechetReference(ref[:dim], 1, dim); err == nil {
		t.Error("a reference of one vector: no error")
	}
}
