package main

import (
	"math"
	"sort"

	"github.com/ddpm-go/ddpm/ddpm/classifier"
)

// PixelDim is the length of an image's pixel features: its ink on a 16×16
// grid.
const PixelDim = (classifier.Size / 2) * (classifier.Size / 2)

// pixelFeatures is a second feature set that no network learned: each
// image's ink ((x+1)/2, 0 on the background) averaged over 2×2 blocks. Where
// the classifier's features are trained to ignore what does not change the
// digit, these see every stroke's width and place and every speck, so the two
// can disagree on which set of samples is closer to MNIST.
func pixelFeatures(imgs []float32, n int) []float32 {
	const size, half = classifier.Size, classifier.Size / 2
	out := make([]float32, n*PixelDim)
	for i := 0; i < n; i++ {
		img, f := imgs[i*size*size:(i+1)*size*size], out[i*PixelDim:(i+1)*PixelDim]
		for by := 0; by < half; by++ {
			for bx := 0; bx < half; bx++ {
				top, bottom := img[2*by*size+2*bx:], img[(2*by+1)*size+2*bx:]
				f[by*half+bx] = ((top[0]+top[1]+bottom[0]+bottom[1])/4 + 1) / 2
			}
		}
	}
	return out
}

// spearman is the rank correlation of a and b (ties get their mean rank):
// 1 when the two order the same rows the same way, −1 when reversed; NaN
// when either ties every value.
func spearman(a, b []float64) float64 {
	ra, rb := ranks(a), ranks(b)
	var ma, mb float64
	for i := range ra {
		ma += ra[i]
		mb += rb[i]
	}
	ma /= float64(len(ra))
	mb /= float64(len(rb))
	var sab, saa, sbb float64
	for i := range ra {
		da, db := ra[i]-ma, rb[i]-mb
		sab += da * db
		saa += da * da
		sbb += db * db
	}
	return sab / math.Sqrt(saa*sbb)
}

// ranks returns each value's rank in v, 1 for the smallest.
func ranks(v []float64) []float64 {
	idx := make([]int, len(v))
	for i := range idx {
		idx[i] = i
	}
	sort.Slice(idx, func(i, j int) bool { return v[idx[i]] < v[idx[j]] })
	r := make([]float64, len(v))
	for lo := 0; lo < len(idx); {
		hi := lo + 1
		for hi < len(idx) && v[idx[hi]] == v[idx[lo]] {
			hi++
		}
		for k := lo; k < hi; k++ {
			r[idx[k]] = float64(lo+hi+1) / 2 // the mean of ranks lo+1 … hi
		}
		lo = hi
	}
	return r
}
