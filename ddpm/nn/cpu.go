package nn

import (
	"fmt"
	"math"
)

// CPU runs every kernel in plain Go on the host, spread over GOMAXPROCS
// goroutines (one in WebAssembly).
type CPU struct{}

// Name implements Backend.
func (CPU) Name() string { return "cpu" }

// New implements Backend.
func (CPU) New(shape ...int) *Tensor {
	return &Tensor{Shape: append([]int(nil), shape...), Data: make([]float32, numel(shape))}
}

// View implements Backend.
func (CPU) View(t *Tensor, off int, shape ...int) *Tensor {
	n := numel(shape)
	if off < 0 || off+n > len(t.Data) {
		panic(fmt.Sprintf("nn: view [%d:%d] outside %v", off, off+n, t))
	}
	return &Tensor{Shape: append([]int(nil), shape...), Data: t.Data[off : off+n : off+n]}
}

// Upload implements Backend.
func (CPU) Upload(dst *Tensor, src []float32) { copy(dst.Data, src) }

// Download implements Backend.
func (CPU) Download(dst []float32, src *Tensor) { copy(dst, src.Data) }

// Zero implements Backend.
func (CPU) Zero(t *Tensor) { clear(t.Data) }

// Copy implements Backend.
func (CPU) Copy(dst, src *Tensor) { copy(dst.Data, src.Data) }

// Linear implements Backend.
func (CPU) Linear(y, x, w, b *Tensor) {
	n, in, out := x.Shape[0], x.Shape[1], w.Shape[0]
	sgemm(false, true, n, out, in, 1, x.Data, in, w.Data, in, 0, y.Data, out)
	if b != nil {
		for i := 0; i < n; i++ {
			row := y.Data[i*out : (i+1)*out]
			for j := range row {
				row[j] += b.Data[j]
			}
		}
	}
}

// LinearBackward implements Backend.
func (CPU) LinearBackward(dx, dw, db, dy, x, w *Tensor) {
	n, in, out := x.Shape[0], x.Shape[1], w.Shape[0]
	if dx != nil {
		sgemm(false, false, n, in, out, 1, dy.Data, out, w.Data, in, 0, dx.Data, in)
	}
	if dw != nil {
		sgemm(true, false, out, in, n, 1, dy.Data, out, x.Data, in, 1, dw.Data, in)
	}
	if db != nil {
		for i := 0; i < n; i++ {
			for j, v := range dy.Data[i*out : (i+1)*out] {
				db.Data[j] += v
			}
		}
	}
}

// GEMM implements Backend.
func (CPU) GEMM(m, n, k, batch int, alpha float32, a, b Mat, beta float32, c Mat) {
	if accel != nil && accel.gemm(m, n, k, batch, alpha, a, b, beta, c) {
		return
	}
	parallel(batch, 1, func(_, lo, hi int) {
		for i := lo; i < hi; i++ {
			sgemm(a.Trans, b.Trans, m, n, k, alpha,
				a.T.Data[a.Off+i*a.Stride:], a.Ld,
				b.T.Data[b.Off+i*b.Stride:], b.Ld,
				beta, c.T.Data[c.Off+i*c.Stride:], c.Ld)
		}
	})
}

// accel, when set, runs some of the CPU kernels faster (simd_js.go:
// WebAssembly SIMD); each method reports whether it did the work.
var accel interface {
	// conv convolves the whole batch and adds the bias b (nil: none).
	conv(g *conv, w, b, x, y []float32) bool
	// gemm is GEMM with beta = 0.
	gemm(m, n, k, batch int, alpha float32, a, b Mat, beta float32, c Mat) bool
	silu(y, sig, x []float32) bool
	softmaxRows(y, x []float32, d int) bool
	groupNorm(y, mean, rstd, x, gamma, beta []float32, n, c, groups int, eps float32) bool
}

// elementwise runs f over [0, n) in parallel chunks.
func elementwise(n int, f func(lo, hi int)) {
	parallel(n, 1<<14, func(_, lo, hi int) { f(lo, hi) })
}

// SiLU implements Backend.
func (CPU) SiLU(y, sig, x *Tensor) {
	if accel != nil && sig != nil && accel.silu(y.Data, sig.Data, x.Data) {
		return
	}
	elementwise(len(x.Data), func(lo, hi int) {
		xs, ys := x.Data[lo:hi], y.Data[lo:hi]
		ss := ys // without sig, σ goes where y will be
		if sig != nil {
			ss = sig.Data[lo:hi]
		}
		for i := siluBlock(ys, ss, xs); i < len(xs); i++ {
			v := xs[i]
			s := sigmoid(v)
			ss[i], ys[i] = s, v*s
		}
	})
}

// siluBlock sets sig = σ(x) and y = x·σ(x) (sig may be y) for a leading part
// of x and returns its length; SIMD builds replace it (silu_amd64.go) with
// results equal bit for bit.
var siluBlock = func(y, sig, x []float32) int { return 0 }

// SiLUBackward implements Backend: dx = dy·σ(x)·(1 + x·(1 − σ(x))).
func (CPU) SiLUBackward(dx, dy, x, sig *Tensor) {
	elementwise(len(x.Data), func(lo, hi int) {
		xs, dys, dxs, ss := x.Data[lo:hi], dy.Data[lo:hi], dx.Data[lo:hi], sig.Data[lo:hi]
		for i := siluBackwardBlock(dxs, dys, xs, ss); i < len(xs); i++ {
			v, s := xs[i], ss[i]
			dxs[i] = dys[i] * s * (1 + float32(v*(1-s))) // no FMA: the SIMD block rounds the same way
		}
	})
}

// siluBackwardBlock and addBlock do a leading part of SiLUBackward and Add
// and return its length; SIMD builds replace them (silu_amd64.go) with
// results equal bit for bit.
var (
	siluBackwardBlock = func(dx, dy, x, sig []float32) int { return 0 }
	addBlock          = func(y, a, b []float32) int { return 0 }
)

// Add implements Backend.
func (CPU) Add(y, a, b *Tensor) {
	elementwise(len(y.Data), func(lo, hi int) {
		ys, as, bs := y.Data[lo:hi], a.Data[lo:hi], b.Data[lo:hi]
		for i := addBlock(ys, as, bs); i < len(ys); i++ {
			ys[i] = as[i] + bs[i]
		}
	})
}

// Axpy implements Backend.
func (CPU) Axpy(y *Tensor, alpha float32, x *Tensor) {
	elementwise(len(y.Data), func(lo, hi int) {
		ys, xs := y.Data[lo:hi], x.Data[lo:hi]
		for i := range ys {
			ys[i] += alpha * xs[i]
		}
	})
}

// AddChannels implements Backend.
func (CPU) AddChannels(y, x, v *Tensor) {
	planes := len(v.Data)
	size := len(x.Data) / planes
	parallel(planes, 8, func(_, lo, hi int) {
		for p := lo; p < hi; p++ {
			add := v.Data[p]
			xs, ys := x.Data[p*size:(p+1)*size], y.Data[p*size:(p+1)*size]
			for i, a := range xs {
				ys[i] = a + add
			}
		}
	})
}

// SumChannels implements Backend.
func (CPU) SumChannels(dv, dy *Tensor) {
	planes := len(dv.Data)
	size := len(dy.Data) / planes
	parallel(planes, 8, func(_, lo, hi int) {
		for p := lo; p < hi; p++ {
			var s float32
			for _, a := range dy.Data[p*size : (p+1)*size] {
				s += a
			}
			dv.Data[p] += s
		}
	})
}

// ScaleChannels implements Backend.
func (CPU) ScaleChannels(y, x, s *Tensor) {
	planes := len(s.Data)
	size := len(x.Data) / planes
	parallel(planes, 8, func(_, lo, hi int) {
		for p := lo; p < hi; p++ {
			k := 1 + s.Data[p]
			xs, ys := x.Data[p*size:(p+1)*size], y.Data[p*size:(p+1)*size]
			for i, a := range xs {
				ys[i] = a * k
			}
		}
	})
}

// DotChannels implements Backend.
func (CPU) DotChannels(ds, dy, x *Tensor) {
	planes := len(ds.Data)
	size := len(dy.Data) / planes
	parallel(planes, 8, func(_, lo, hi int) {
		for p := lo; p < hi; p++ {
			var s float32
			xs := x.Data[p*size : (p+1)*size]
			for i, a := range dy.Data[p*size : (p+1)*size] {
				s += a * xs[i]
			}
			ds.Data[p] += s
		}
	})
}

// Concat implements Backend.
func (CPU) Concat(y, a, b *Tensor) {
	n := y.Shape[0]
	sa, sb := len(a.Data)/n, len(b.Data)/n
	for i := 0; i < n; i++ {
		copy(y.Data[i*(sa+sb):], a.Data[i*sa:(i+1)*sa])
		copy(y.Data[i*(sa+sb)+sa:], b.Data[i*sb:(i+1)*sb])
	}
}

// Split implements Backend.
func (CPU) Split(da, db, dy *Tensor) {
	n := dy.Shape[0]
	sa, sb := len(da.Data)/n, len(db.Data)/n
	for i := 0; i < n; i++ {
		copy(da.Data[i*sa:(i+1)*sa], dy.Data[i*(sa+sb):])
		copy(db.Data[i*sb:(i+1)*sb], dy.Data[i*(sa+sb)+sa:])
	}
}

// Upsample2x implements Backend.
func (CPU) Upsample2x(y, x *Tensor) {
	h, w := x.Shape[2], x.Shape[3]
	planes := x.Shape[0] * x.Shape[1]
	parallel(planes, 8, func(_, lo, hi int) {
		for p := lo; p < hi; p++ {
			src := x.Data[p*h*w : (p+1)*h*w]
			dst := y.Data[p*4*h*w : (p+1)*4*h*w]
			for i := 0; i < h; i++ {
				r0 := dst[(2*i)*2*w : (2*i+1)*2*w]
				for j, v := range src[i*w : (i+1)*w] {
					r0[2*j], r0[2*j+1] = v, v
				}
				copy(dst[(2*i+1)*2*w:(2*i+2)*2*w], r0)
			}
		}
	})
}

// Upsample2xBackward implements Backend.
func (CPU) Upsample2xBackward(dx, dy *Tensor) {
	h, w := dx.Shape[2], dx.Shape[3]
	planes := dx.Shape[0] * dx.Shape[1]
	parallel(planes, 8, func(_, lo, hi int) {
		for p := lo; p < hi; p++ {
			src := dy.Data[p*4*h*w : (p+1)*4*h*w]
			dst := dx.Data[p*h*w : (p+1)*h*w]
			for i := 0; i < h; i++ {
				r0, r1 := src[(2*i)*2*w:(2*i+1)*2*w], src[(2*i+1)*2*w:(2*i+2)*2*w]
				for j := 0; j < w; j++ {
					dst[i*w+j] = r0[2*j] + r0[2*j+1] + r1[2*j] + r1[2*j+1]
				}
			}
		}
	})
}

// SoftmaxRows implements Backend.
func (CPU) SoftmaxRows(y, x *Tensor) {
	d := x.Shape[len(x.Shape)-1]
	if accel != nil && accel.softmaxRows(y.Data, x.Data, d) {
		return
	}
	rows := len(x.Data) / d
	parallel(rows, 16, func(_, lo, hi int) {
		for r := lo; r < hi; r++ {
			xs, ys := x.Data[r*d:(r+1)*d], y.Data[r*d:(r+1)*d]
			mx := xs[0]
			for _, v := range xs {
				mx = max(mx, v)
			}
			var sum float32
			for i, v := range xs {
				e := expf(v - mx)
				ys[i] = e
				sum += e
			}
			inv := 1 / sum
			for i := range ys {
				ys[i] *= inv
			}
		}
	})
}

// SoftmaxRowsBackward implements Backend.
func (CPU) SoftmaxRowsBackward(dx, dy, y *Tensor) {
	d := y.Shape[len(y.Shape)-1]
	rows := len(y.Data) / d
	parallel(rows, 16, func(_, lo, hi int) {
		for r := lo; r < hi; r++ {
			ys, dys, dxs := y.Data[r*d:(r+1)*d], dy.Data[r*d:(r+1)*d], dx.Data[r*d:(r+1)*d]
			var dot float32
			for i, v := range ys {
				dot += v * dys[i]
			}
			for i, v := range ys {
				dxs[i] = v * (dys[i] - dot)
			}
		}
	})
}

// Embedding implements Backend.
func (CPU) Embedding(y, table *Tensor, ids []int) {
	d := table.Shape[1]
	for i, id := range ids {
		copy(y.Data[i*d:(i+1)*d], table.Data[id*d:(id+1)*d])
	}
}

// EmbeddingBackward implements Backend.
func (CPU) EmbeddingBackward(dtable, dy *Tensor, ids []int) {
	d := dtable.Shape[1]
	for i, id := range ids {
		row := dtable.Data[id*d : (id+1)*d]
		for j, v := range dy.Data[i*d : (i+1)*d] {
			row[j] += v
		}
	}
}

// MSE implements Backend.
func (CPU) MSE(grad, pred, target *Tensor) float64 {
	var sum float64
	scale := 2 / float32(len(pred.Data))
	for i, p := range pred.Data {
		d := p - target.Data[i]
		sum += float64(d) * float64(d)
		grad.Data[i] = scale * d
	}
	return sum / float64(len(pred.Data))
}

// AdamScales returns the bias-corrected step size lr/c1 and √c2, with
// c1 = 1 − β1^step and c2 = 1 − β2^step, for Adam's update written as
// p −= stepSize·m/(√v/√c2 + eps) (that is lr·m̂/(√v̂ + eps)). Device backends
// use it so their update matches the CPU's.
func AdamScales(lr, beta1, beta2 float64, step int) (stepSize, sqrtC2 float32) {
	c1 := 1 - math.Pow(beta1, float64(step))
	c2 := 1 - math.Pow(beta2, float64(step))
	return float32(lr / c1), float32(math.Sqrt(c2))
}

// Adam implements Backend.
func (CPU) Adam(p, g, m, v *Tensor, lr, beta1, beta2, eps float64, step int) {
	b1, b2 := float32(beta1), float32(beta2)
	stepSize, sqrtC2 := AdamScales(lr, beta1, beta2, step)
	e := float32(eps)
	elementwise(len(p.Data), func(lo, hi int) {
		ps, gs, ms, vs := p.Data[lo:hi], g.Data[lo:hi], m.Data[lo:hi], v.Data[lo:hi]
		for i, gi := range gs {
			mi := b1*ms[i] + (1-b1)*gi
			vi := b2*vs[i] + (1-b2)*gi*gi
			ms[i], vs[i] = mi, vi
			ps[i] -= stepSize * mi / (float32(math.Sqrt(float64(vi)))/sqrtC2 + e)
		}
	})
}

// EMA implements Backend.
func (CPU) EMA(avg, p *Tensor, decay float64) {
	d := float32(decay)
	elementwise(len(p.Data), func(lo, hi int) {
		as, ps := avg.Data[lo:hi], p.Data[lo:hi]
		for i, v := range ps {
			as[i] = d*as[i] + (1-d)*v
		}
	})
}
