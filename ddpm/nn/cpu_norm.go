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
			var s, ss float64
			for _, v := range xs {
				s += float64(v)
			}
			mu := s / float64(gsize)
			for _, v := range xs {
				d := float64(v) - mu
				ss += d * d
			}
			r := 1 / math.Sqrt(ss/float64(gsize)+float64(eps))
			mean.Data[ng], rstd.Data[ng] = float32(mu), float32(r)
			ys := y.Data[ng*gsize : (ng+1)*gsize]
			g0 := (ng % groups) * per
			for ci := 0; ci < per; ci++ {
				a := float32(r) * gamma.Data[g0+ci]
				b := beta.Data[g0+ci] - float32(mu)*a
				for i, v := range xs[ci*size : (ci+1)*size] {
					ys[ci*size+i] = v*a + b
				}
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
				mu, r := mean.Data[i*groups+g], rstd.Data[i*groups+g]
				off := (i*c + ch) * size
				for j, d := range dy.Data[off : off+size] {
					sg += float64(d * (x.Data[off+j] - mu) * r)
					sb += float64(d)
				}
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
				gm := gamma.Data[g0+ci]
				for j := ci * size; j < (ci+1)*size; j++ {
					gh := dy.Data[off+j] * gm
					s1 += float64(gh)
					s2 += float64(gh * (x.Data[off+j] - mu) * r)
				}
			}
			m1, m2 := float32(s1/float64(gsize)), float32(s2/float64(gsize))
			for ci := 0; ci < per; ci++ {
				gm := gamma.Data[g0+ci]
				for j := ci * size; j < (ci+1)*size; j++ {
					xh := (x.Data[off+j] - mu) * r
					dx.Data[off+j] = r * (dy.Data[off+j]*gm - m1 - xh*m2)
				}
			}
		}
	})
}
