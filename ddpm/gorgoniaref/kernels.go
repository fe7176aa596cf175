package gorgoniaref

import (
	"fmt"
	"math"

	"gorgonia.org/tensor"
)

// The reference kernels are deliberately naive float64 loops, written
// independently of ddpm/nn's optimised float32 ones.

// convFn is an NCHW convolution of x [N,Ci,H,W] with w [Co,Ci,K,K] plus b [Co].
func convFn(stride, pad int) *kernelFn {
	geom := func(x, w tensor.Shape) (n, ci, h, wd, co, k, ho, wo int) {
		n, ci, h, wd = x[0], x[1], x[2], x[3]
		co, k = w[0], w[2]
		return n, ci, h, wd, co, k, (h+2*pad-k)/stride + 1, (wd+2*pad-k)/stride + 1
	}
	// each visits every (output, input, weight) index triple of the convolution.
	each := func(x, w tensor.Shape, f func(yi, xi, wi, co int)) {
		n, ci, h, wd, co, k, ho, wo := geom(x, w)
		for b := 0; b < n; b++ {
			for o := 0; o < co; o++ {
				for oy := 0; oy < ho; oy++ {
					for ox := 0; ox < wo; ox++ {
						yi := ((b*co+o)*ho+oy)*wo + ox
						for c := 0; c < ci; c++ {
							for ky := 0; ky < k; ky++ {
								iy := oy*stride + ky - pad
								if iy < 0 || iy >= h {
									continue
								}
								for kx := 0; kx < k; kx++ {
									ix := ox*stride + kx - pad
									if ix < 0 || ix >= wd {
										continue
									}
									f(yi, ((b*ci+c)*h+iy)*wd+ix, ((o*ci+c)*k+ky)*k+kx, o)
								}
							}
						}
					}
				}
			}
		}
	}
	return &kernelFn{
		name:    fmt.Sprintf("RefConv(stride=%d,pad=%d)", stride, pad),
		inDims:  []int{4, 4, 1},
		outDims: 4,
		shape: func(in []tensor.Shape) tensor.Shape {
			n, _, _, _, co, _, ho, wo := geom(in[0], in[1])
			return tensor.Shape{n, co, ho, wo}
		},
		forward: func(in []arr, y arr) {
			x, w, b := in[0], in[1], in[2]
			co, l := w.shape[0], y.shape[2]*y.shape[3]
			for i := range y.data {
				y.data[i] = b.data[(i/l)%co]
			}
			each(x.shape, w.shape, func(yi, xi, wi, _ int) { y.data[yi] += x.data[xi] * w.data[wi] })
		},
		grads: []func(in []arr, dy, dx arr){
			func(in []arr, dy, dx arr) {
				each(in[0].shape, in[1].shape, func(yi, xi, wi, _ int) { dx.data[xi] += dy.data[yi] * in[1].data[wi] })
			},
			func(in []arr, dy, dw arr) {
				each(in[0].shape, in[1].shape, func(yi, xi, wi, _ int) { dw.data[wi] += dy.data[yi] * in[0].data[xi] })
			},
			func(in []arr, dy, db arr) {
				co, l := dy.shape[1], dy.shape[2]*dy.shape[3]
				for i, v := range dy.data {
					db.data[(i/l)%co] += v
				}
			},
		},
	}
}

// groupNormFn normalises x [N,C,H,W] over groups of channels, then scales by
// gamma [C] and shifts by beta [C].
func groupNormFn(groups int, eps float64) *kernelFn {
	// stats returns, per (n, group), the mean and 1/σ, and x̂.
	stats := func(x arr) (xhat []float64, rstd []float64, per, size int) {
		n, c := x.shape[0], x.shape[1]
		size = x.shape[2] * x.shape[3]
		per = c / groups
		xhat = make([]float64, len(x.data))
		rstd = make([]float64, n*groups)
		gsize := per * size
		for g := 0; g < n*groups; g++ {
			xs := x.data[g*gsize : (g+1)*gsize]
			var mu, v float64
			for _, a := range xs {
				mu += a
			}
			mu /= float64(gsize)
			for _, a := range xs {
				v += (a - mu) * (a - mu)
			}
			rstd[g] = 1 / math.Sqrt(v/float64(gsize)+eps)
			for i, a := range xs {
				xhat[g*gsize+i] = (a - mu) * rstd[g]
			}
		}
		return
	}
	channel := func(i int, x arr) int { return (i / (x.shape[2] * x.shape[3])) % x.shape[1] }
	return &kernelFn{
		name:    fmt.Sprintf("RefGroupNorm(groups=%d,eps=%g)", groups, eps),
		inDims:  []int{4, 1, 1},
		outDims: 4,
		shape:   func(in []tensor.Shape) tensor.Shape { return in[0].Clone() },
		forward: func(in []arr, y arr) {
			xhat, _, _, _ := stats(in[0])
			for i, v := range xhat {
				c := channel(i, in[0])
				y.data[i] = v*in[1].data[c] + in[2].data[c]
			}
		},
		grads: []func(in []arr, dy, dx arr){
			func(in []arr, dy, dx arr) {
				x := in[0]
				xhat, rstd, per, size := stats(x)
				gsize := per * size
				for g := range rstd {
					var m1, m2 float64
					for i := g * gsize; i < (g+1)*gsize; i++ {
						gh := dy.data[i] * in[1].data[channel(i, x)]
						m1 += gh
						m2 += gh * xhat[i]
					}
					m1 /= float64(gsize)
					m2 /= float64(gsize)
					for i := g * gsize; i < (g+1)*gsize; i++ {
						gh := dy.data[i] * in[1].data[channel(i, x)]
						dx.data[i] = rstd[g] * (gh - m1 - xhat[i]*m2)
					}
				}
			},
			func(in []arr, dy, dg arr) {
				xhat, _, _, _ := stats(in[0])
				for i, v := range dy.data {
					dg.data[channel(i, in[0])] += v * xhat[i]
				}
			},
			func(in []arr, dy, db arr) {
				for i, v := range dy.data {
					db.data[channel(i, in[0])] += v
				}
			},
		},
	}
}

// addChannelsFn adds v [N,C] to every pixel of x [N,C,H,W].
var addChannelsFn = perChannelFn("RefAddChannels",
	func(x, v float64) (y, dydx, dydv float64) { return x + v, 1, 1 })

// scaleChannelsFn multiplies every pixel of x [N,C,H,W] by 1 + s [N,C].
var scaleChannelsFn = perChannelFn("RefScaleChannels",
	func(x, s float64) (y, dydx, dyds float64) { return x * (1 + s), 1 + s, x })

// perChannelFn is the op y = f(x, v[n,c]) on every pixel of x [N,C,H,W],
// for v [N,C]; f returns y and its partial derivatives in x and v.
func perChannelFn(name string, f func(x, v float64) (y, dydx, dydv float64)) *kernelFn {
	// each calls visit(i, j, x, v) for every pixel i of x and its plane j.
	each := func(in []arr, visit func(i, j int, x, v float64)) {
		l := in[0].shape[2] * in[0].shape[3]
		for i, x := range in[0].data {
			visit(i, i/l, x, in[1].data[i/l])
		}
	}
	return &kernelFn{
		name:    name,
		inDims:  []int{4, 2},
		outDims: 4,
		shape:   func(in []tensor.Shape) tensor.Shape { return in[0].Clone() },
		forward: func(in []arr, y arr) {
			each(in, func(i, _ int, x, v float64) { y.data[i], _, _ = f(x, v) })
		},
		grads: []func(in []arr, dy, dx arr){
			func(in []arr, dy, dx arr) {
				each(in, func(i, _ int, x, v float64) {
					_, d, _ := f(x, v)
					dx.data[i] = dy.data[i] * d
				})
			},
			func(in []arr, dy, dv arr) {
				each(in, func(i, j int, x, v float64) {
					_, _, d := f(x, v)
					dv.data[j] += dy.data[i] * d
				})
			},
		},
	}
}

// addBiasFn adds b [Out] to every row of y [N,Out].
var addBiasFn = &kernelFn{
	name:    "RefAddBias",
	inDims:  []int{2, 1},
	outDims: 2,
	shape:   func(in []tensor.Shape) tensor.Shape { return in[0].Clone() },
	forward: func(in []arr, y arr) {
		o := in[1].shape[0]
		for i, v := range in[0].data {
			y.data[i] = v + in[1].data[i%o]
		}
	},
	grads: []func(in []arr, dy, dx arr){
		func(_ []arr, dy, dx arr) { copy(dx.data, dy.data) },
		func(in []arr, dy, db arr) {
			o := in[1].shape[0]
			for i, v := range dy.data {
				db.data[i%o] += v
			}
		},
	},
}

// attentionFn is single-head self-attention over the pixels: from qkv
// [N,3C,H,W] it returns a [N,C,H,W] with a[c,i] = Σ_j v[c,j]·softmax_j(q·,i·k·,j/√C).
var attentionFn = &kernelFn{
	name:    "RefAttention",
	inDims:  []int{4},
	outDims: 4,
	shape: func(in []tensor.Shape) tensor.Shape {
		s := in[0]
		return tensor.Shape{s[0], s[1] / 3, s[2], s[3]}
	},
	forward: func(in []arr, y arr) {
		attend(in[0], y, arr{}, arr{})
	},
	grads: []func(in []arr, dy, dx arr){
		func(in []arr, dy, dx arr) { attend(in[0], arr{}, dy, dx) },
	},
}

// attend computes the attention output into y or, given dy, the gradient
// with respect to qkv into dqkv.
func attend(qkv, y, dy, dqkv arr) {
	n, c, l := qkv.shape[0], qkv.shape[1]/3, qkv.shape[2]*qkv.shape[3]
	scale := 1 / math.Sqrt(float64(c))
	p := make([]float64, l*l)
	for b := 0; b < n; b++ {
		base := b * 3 * c * l
		q := func(ch, i int) int { return base + ch*l + i }
		k := func(ch, j int) int { return base + (c+ch)*l + j }
		v := func(ch, j int) int { return base + (2*c+ch)*l + j }
		for i := 0; i < l; i++ {
			mx := math.Inf(-1)
			for j := 0; j < l; j++ {
				s := 0.0
				for ch := 0; ch < c; ch++ {
					s += qkv.data[q(ch, i)] * qkv.data[k(ch, j)]
				}
				p[i*l+j] = s * scale
				mx = math.Max(mx, p[i*l+j])
			}
			sum := 0.0
			for j := 0; j < l; j++ {
				p[i*l+j] = math.Exp(p[i*l+j] - mx)
				sum += p[i*l+j]
			}
			for j := 0; j < l; j++ {
				p[i*l+j] /= sum
			}
		}
		if y.data != nil {
			for ch := 0; ch < c; ch++ {
				for i := 0; i < l; i++ {
					s := 0.0
					for j := 0; j < l; j++ {
						s += qkv.data[v(ch, j)] * p[i*l+j]
					}
					y.data[(b*c+ch)*l+i] = s
				}
			}
			continue
		}
		da := func(ch, i int) float64 { return dy.data[(b*c+ch)*l+i] }
		for i := 0; i < l; i++ {
			// dP[i,j] = Σ_c dA[c,i]·V[c,j]; dS = P ⊙ (dP − Σ_j P·dP).
			dp := make([]float64, l)
			dot := 0.0
			for j := 0; j < l; j++ {
				for ch := 0; ch < c; ch++ {
					dp[j] += da(ch, i) * qkv.data[v(ch, j)]
				}
				dot += dp[j] * p[i*l+j]
			}
			for j := 0; j < l; j++ {
				ds := p[i*l+j] * (dp[j] - dot) * scale
				for ch := 0; ch < c; ch++ {
					dqkv.data[q(ch, i)] += ds * qkv.data[k(ch, j)]
					dqkv.data[k(ch, j)] += ds * qkv.data[q(ch, i)]
					dqkv.data[v(ch, j)] += da(ch, i) * p[i*l+j]
				}
			}
		}
	}
}

// biasChannelsFn adds b [C] to every pixel of channel c of x [N,C,H,W].
var biasChannelsFn = &kernelFn{
	name:    "RefBiasChannels",
	inDims:  []int{4, 1},
	outDims: 4,
	shape:   func(in []tensor.Shape) tensor.Shape { return in[0].Clone() },
	forward: func(in []arr, y arr) {
		c, l := in[0].shape[1], in[0].shape[2]*in[0].shape[3]
		for i, v := range in[0].data {
			y.data[i] = v + in[1].data[(i/l)%c]
		}
	},
	grads: []func(in []arr, dy, dx arr){
		func(_ []arr, dy, dx arr) { copy(dx.data, dy.data) },
		func(in []arr, dy, db arr) {
			c, l := in[0].shape[1], in[0].shape[2]*in[0].shape[3]
			for i, v := range dy.data {
				db.data[(i/l)%c] += v
			}
		},
	},
}
