package nn

import "math"

// GroupNorm implements Backend. Statistics are accumulated in float64.
func (CPU) GroupNorm(y, mean, rstd, x, gamma, beta *Tensor, groups int, eps float32) {
	n, c := x.Shape[0], x.Shape[1]
	if accel != nil && accel.groupNorm(y.Data, mean.Data, rstd.Data, x.Data, gamma.Data, beta.Data, n, c, groups, eps) {
		return
	}
	per := c / groups
	size := len(x.Data) / (n * c) // pixels per channel
	gsize := per * size
	parallel(n*groups, 1, func(_, lo, hi int) {
		for ng := lo; ng < hi; ng++ {
			xs := x.Data[ng*gsize : (ng+1)*gsize]
			mu := sum64(xs) / float64(gsize)
			r := 1 / math.Sqrt(sumSqDev64(xs, mu)/float64(gsize)+float64(eps))
			mean.Data[ng], rstd.Data[ng] = float32(mu), float32(r)
			ys := y.Data[ng*gsize : (ng+1)*gsize]
			g0 := (ng % groups) * per
			for ci := 0; ci < per; ci++ {
				a := float32(r) * gamma.Data[g0+ci]
				b := beta.Data[g0+ci] - float32(mu)*a
				affine(ys[ci*size:(ci+1)*size], xs[ci*size:(ci+1)*size], a, b)
			}
		}
	})
}

// GroupNormBackward implements Backend.
func (CPU) GroupNormBackward(dx, dgamma, dbeta, dy, x, mean, rstd, gamma *Tensor, groups int) {
	n, c := x.Shape[0], x.Shape[1]
	per := c / groups
	size := len(x.Data) / (n * c)
	gsize := per * size
	// Parameter gradients: one channel per task, summed over the batch.
	parallel(c, 1, func(_, lo, hi int) {
		for ch := lo; ch < hi; ch++ {
			g := ch / per
			var sg, sb float64
			for i := 0; i < n; i++ {
				off := (i*c + ch) * size
				a, b := normGradSums(dy.Data[off:off+size], x.Data[off:off+size], 1, mean.Data[i*groups+g], rstd.Data[i*groups+g])
				sg += a
				sb += b
			}
			dgamma.Data[ch] += float32(sg)
			dbeta.Data[ch] += float32(sb)
		}
	})
	if dx == nil {
		return
	}
	// dx = r·(ĝ − mean(ĝ) − x̂·mean(ĝ·x̂)) with ĝ = dy·γ.
	parallel(n*groups, 1, func(_, lo, hi int) {
		for ng := lo; ng < hi; ng++ {
			mu, r := mean.Data[ng], rstd.Data[ng]
			g0 := (ng % groups) * per
			off := ng * gsize
			var s1, s2 float64
			for ci := 0; ci < per; ci++ {
				lo, hi := off+ci*size, off+(ci+1)*size
				a, b := normGradSums(dy.Data[lo:hi], x.Data[lo:hi], gamma.Data[g0+ci], mu, r)
				s2 += a
				s1 += b
			}
			m1, m2 := float32(s1/float64(gsize)), float32(s2/float64(gsize))
			for ci := 0; ci < per; ci++ {
				lo, hi := off+ci*size, off+(ci+1)*size
				normDx(dx.Data[lo:hi], dy.Data[lo:hi], x.Data[lo:hi], gamma.Data[g0+ci], mu, r, m1, m2)
			}
		}
	})
}

// GroupNorm's inner loops; norm_amd64.go swaps in AVX2 versions. The Go
// sums run four independent float64 add chains, which the CPU overlaps (one
// chain waits for each add).
var (
	sum64        = sum64Go        // Σ x
	sumSqDev64   = sumSqDev64Go   // Σ (x − mu)²
	affine       = affineGo       // y = x·a + b
	normGradSums = normGradSumsGo // Σ g·(x − mu)·r and Σ g, with g = dy·gm
	normDx       = normDxGo       // dx = r·(dy·gm − m1 − (x − mu)·r·m2)

	haveNormSIMD bool // whether the loops above are SIMD ones
)

func sum64Go(x []float32) float64 {
	var s0, s1, s2, s3 float64
	i := 0
	for ; i+4 <= len(x); i += 4 {
		s0 += float64(x[i])
		s1 += float64(x[i+1])
		s2 += float64(x[i+2])
		s3 += float64(x[i+3])
	}
	for ; i < len(x); i++ {
		s0 += float64(x[i])
	}
	return (s0 + s1) + (s2 + s3)
}

func sumSqDev64Go(x []float32, mu float64) float64 {
	var s0, s1, s2, s3 float64
	i := 0
	for ; i+4 <= len(x); i += 4 {
		d0, d1, d2, d3 := float64(x[i])-mu, float64(x[i+1])-mu, float64(x[i+2])-mu, float64(x[i+3])-mu
		s0 += d0 * d0
		s1 += d1 * d1
		s2 += d2 * d2
		s3 += d3 * d3
	}
	for ; i < len(x); i++ {
		d := float64(x[i]) - mu
		s0 += d * d
	}
	return (s0 + s1) + (s2 + s3)
}

func normGradSumsGo(dy, x []float32, gm, mu, r float32) (gx, gs float64) {
	x = x[:len(dy)]
	var a0, a1, a2, a3, b0, b1, b2, b3 float64
	i := 0
	for ; i+4 <= len(dy); i += 4 {
		g0, g1, g2, g3 := dy[i]*gm, dy[i+1]*gm, dy[i+2]*gm, dy[i+3]*gm
		a0 += float64(g0 * (x[i] - mu) * r)
		a1 += float64(g1 * (x[i+1] - mu) * r)
		a2 += float64(g2 * (x[i+2] - mu) * r)
		a3 += float64(g3 * (x[i+3] - mu) * r)
		b0 += float64(g0)
		b1 += float64(g1)
		b2 += float64(g2)
		b3 += float64(g3)
	}
	for ; i < len(dy); i++ {
		g := dy[i] * gm
		a0 += float64(g * (x[i] - mu) * r)
		b0 += float64(g)
	}
	return (a0 + a1) + (a2 + a3), (b0 + b1) + (b2 + b3)
}

func affineGo(y, x []float32, a, b float32) {
	y = y[:len(x)]
	for i, v := range x {
		y[i] = v*a + b
	}
}

func normDxGo(dx, dy, x []float32, gm, mu, r, m1, m2 float32) {
	dy, x = dy[:len(dx)], x[:len(dx)]
	for j := range dx {
		xh := (x[j] - mu) * r
		dx[j] = r * (dy[j]*gm - m1 - xh*m2)
	}
}
