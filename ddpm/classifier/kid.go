package classifier

import (
	"fmt"
	"math"

	"gonum.org/v1/gonum/mat"
)

// KIDBlocks is the number of disjoint blocks of samples whose spread gives
// KID's standard error.
const KIDBlocks = 10

// A KIDReference holds the reference features (the MNIST test set) of the
// kernel distance, with their kernel mean computed once.
//
// The kernel distance (KID, Bińkowski et al. 2018) is the squared maximum
// mean discrepancy between two feature sets under the kernel
// k(x, y) = (x·y/dim + 1)³, estimated without bias, so unlike the Fréchet
// distance its expected value does not depend on the sample count. Features
// are first divided by the reference's root-mean-square value, so that x·y/dim
// is of order 1 whatever the classifier's scale (Inception features, which
// KID was made for, are of that order).
type KIDReference struct {
	y     *mat.Dense
	dim   int
	scale float64 // 1 / the reference features' RMS
	kyy   float64 // mean of k(y_i, y_j) over i ≠ j
}

// NewKIDReference prepares n reference feature vectors of dim values.
func NewKIDReference(feat []float32, n, dim int) (*KIDReference, error) {
	if n < 2 || len(feat) != n*dim {
		return nil, fmt.Errorf("classifier: KID needs ≥ 2 reference vectors of %d values", dim)
	}
	var sq float64
	for _, v := range feat {
		sq += float64(v) * float64(v)
	}
	if sq == 0 || math.IsInf(sq, 0) || math.IsNaN(sq) {
		return nil, fmt.Errorf("classifier: KID reference features are all zero or not finite")
	}
	r := &KIDReference{dim: dim, scale: 1 / math.Sqrt(sq/float64(len(feat)))}
	r.y = r.dense(feat, n)
	r.kyy = r.offDiagonalMean(r.y)
	return r, nil
}

// Distance returns the unbiased KID between n feature vectors and the
// reference, and its standard error: the spread of the estimates from
// KIDBlocks disjoint blocks of the vectors, over √KIDBlocks.
func (r *KIDReference) Distance(feat []float32, n int) (kid, stdErr float64, err error) {
	if n < 2*KIDBlocks || len(feat) != n*r.dim {
		return 0, 0, fmt.Errorf("classifier: KID needs ≥ %d vectors of %d values", 2*KIDBlocks, r.dim)
	}
	x := r.dense(feat, n)
	kid = r.offDiagonalMean(x) + r.kyy - 2*r.crossMean(x)
	var sum, sq float64
	for b := 0; b < KIDBlocks; b++ {
		lo, hi := b*n/KIDBlocks, (b+1)*n/KIDBlocks
		xb := x.Slice(lo, hi, 0, r.dim).(*mat.Dense)
		v := r.offDiagonalMean(xb) + r.kyy - 2*r.crossMean(xb)
		sum, sq = sum+v, sq+v*v
	}
	mean := sum / KIDBlocks
	sd := math.Sqrt(math.Max(sq/KIDBlocks-mean*mean, 0) * KIDBlocks / (KIDBlocks - 1))
	return kid, sd / math.Sqrt(KIDBlocks), nil
}

// kernelSum returns Σ k(a_i, b_j) and, when diag is set (a = b), the sum of
// the diagonal k(a_i, a_i), computing the kernel in blocks of rows.
func (r *KIDReference) kernelSum(a, b *mat.Dense, diag bool) (total, onDiag float64) {
	na, _ := a.Dims()
	nb, _ := b.Dims()
	const rows = 256
	var k mat.Dense
	for lo := 0; lo < na; lo += rows {
		hi := min(lo+rows, na)
		k.Reset()
		k.Mul(a.Slice(lo, hi, 0, r.dim), b.T())
		for i := 0; i < hi-lo; i++ {
			for j := 0; j < nb; j++ {
				v := k.At(i, j)/float64(r.dim) + 1
				v = v * v * v
				total += v
				if diag && lo+i == j {
					onDiag += v
				}
			}
		}
	}
	return total, onDiag
}

func (r *KIDReference) offDiagonalMean(a *mat.Dense) float64 {
	n, _ := a.Dims()
	total, diag := r.kernelSum(a, a, true)
	return (total - diag) / float64(n*(n-1))
}

func (r *KIDReference) crossMean(a *mat.Dense) float64 {
	n, _ := a.Dims()
	m, _ := r.y.Dims()
	total, _ := r.kernelSum(a, r.y, false)
	return total / float64(n*m)
}

// dense returns n feature vectors as a matrix, scaled.
func (r *KIDReference) dense(feat []float32, n int) *mat.Dense {
	d := make([]float64, len(feat))
	for i, v := range feat {
		d[i] = float64(v) * r.scale
	}
	return mat.NewDense(n, r.dim, d)
}
