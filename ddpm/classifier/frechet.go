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
	ref, err := NewFrechetReference(b, nb, dim)
	if err != nil {
		return 0, err
	}
	return ref.Distance(a, na)
}

// A FrechetReference holds the Gaussian fitted to reference features (the
// MNIST test set), so that many sets can be measured against it without
// fitting it again: with 10,000 references that is most of the work.
type FrechetReference struct {
	mu  []float64
	cov *mat.SymDense
	dim int
}

// NewFrechetReference fits the Gaussian to n reference vectors of dim values.
func NewFrechetReference(feat []float32, n, dim int) (*FrechetReference, error) {
	if err := checkSet(feat, n, dim); err != nil {
		return nil, err
	}
	mu, cov := moments(feat, n, dim)
	return &FrechetReference{mu: mu, cov: cov, dim: dim}, nil
}

// Distance returns the Fréchet distance between n feature vectors and the
// reference.
func (r *FrechetReference) Distance(feat []float32, n int) (float64, error) {
	dim := r.dim
	if err := checkSet(feat, n, dim); err != nil {
		return 0, err
	}
	mua, ca := moments(feat, n, dim)
	var d2 float64
	for i := range mua {
		d2 += (mua[i] - r.mu[i]) * (mua[i] - r.mu[i])
	}
	sa, err := sqrtSym(ca)
	if err != nil {
		return 0, err
	}
	var m mat.Dense
	m.Product(sa, r.cov, sa)
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
	return d2 + mat.Trace(ca) + mat.Trace(r.cov) - 2*trSqrt, nil
}

// checkSet says whether feat holds n ≥ 2 vectors of dim values.
func checkSet(feat []float32, n, dim int) error {
	if n < 2 || len(feat) != n*dim {
		return fmt.Errorf("classifier: Fréchet distance needs ≥ 2 vectors of %d values per set", dim)
	}
	return nil
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
