package classifier

import (
	"fmt"
	"math"

	"gonum.org/v1/gonum/mat"
)

// FrechetDistance returns the Fréchet distance between Gaussians fitted to
// two sets of feature vectors (na and nb rows of dim values):
// |μa − μb|² + tr(Σa + Σb − 2·(Σa^½ Σb Σa^½)^½), as FID does with
// Inception features.
func FrechetDistance(a []float32, na int, b []float32, nb int, dim int) (float64, error) {
	if na < 2 || nb < 2 || len(a) != na*dim || len(b) != nb*dim {
		return 0, fmt.Errorf("classifier: Fréchet distance needs ≥ 2 vectors of %d values per set", dim)
	}
	mua, ca := moments(a, na, dim)
	mub, cb := moments(b, nb, dim)
	var d2 float64
	for i := range mua {
		d2 += (mua[i] - mub[i]) * (mua[i] - mub[i])
	}
	sa, err := sqrtSym(ca)
	if err != nil {
		return 0, err
	}
	var m mat.Dense
	m.Product(sa, cb, sa)
	ms := mat.NewSymDense(dim, nil)
	for i := 0; i < dim; i++ {
		for j := i; j < dim; j++ {
			ms.SetSym(i, j, (m.At(i, j)+m.At(j, i))/2)
		}
	}
	var eig mat.EigenSym
	if !eig.Factorize(ms, false) {
		return 0, fmt.Errorf("classifier: eigen-decomposition failed")
	}
	var trSqrt float64
	for _, v := range eig.Values(nil) {
		trSqrt += math.Sqrt(math.Max(v, 0))
	}
	return d2 + mat.Trace(ca) + mat.Trace(cb) - 2*trSqrt, nil
}

func moments(x []float32, n, dim int) ([]float64, *mat.SymDense) {
	mu := make([]float64, dim)
	for i := 0; i < n; i++ {
		for j := 0; j < dim; j++ {
			mu[j] += float64(x[i*dim+j])
		}
	}
	for j := range mu {
		mu[j] /= float64(n)
	}
	centred := mat.NewDense(n, dim, nil)
	for i := 0; i < n; i++ {
		for j := 0; j < dim; j++ {
			centred.Set(i, j, float64(x[i*dim+j])-mu[j])
		}
	}
	cov := mat.NewSymDense(dim, nil)
	cov.SymOuterK(1/float64(n-1), centred.T())
	return mu, cov
}

// sqrtSym returns the symmetric square root of a positive semi-definite matrix.
func sqrtSym(c *mat.SymDense) (*mat.Dense, error) {
	var eig mat.EigenSym
	if !eig.Factorize(c, true) {
		return nil, fmt.Errorf("classifier: eigen-decomposition failed")
	}
	vals := eig.Values(nil)
	var vecs mat.Dense
	eig.VectorsTo(&vecs)
	n := len(vals)
	d := mat.NewDiagDense(n, nil)
	for i, v := range vals {
		d.SetDiag(i, math.Sqrt(math.Max(v, 0)))
	}
	var s mat.Dense
	s.Product(&vecs, d, vecs.T())
	return &s, nil
}
