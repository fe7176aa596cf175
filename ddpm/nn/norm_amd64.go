package nn

import "golang.org/x/sys/cpu"

// GroupNorm's inner loops in AVX2 (norm_amd64.s): the asm does the leading
// multiple of its block, Go the rest.

//go:noescape
func sumAVX2(x *float32, n int) float64

//go:noescape
func sumSqDevAVX2(x *float32, n int, mu float64) float64

//go:noescape
func affineAVX2(y, x *float32, n int, a, b float32)

//go:noescape
func normGradSumsAVX2(dy, x *float32, n int, gm, mu, r float32) (gx, gs float64)

//go:noescape
func normDxAVX2(dx, dy, x *float32, n int, gm, mu, r, m1, m2 float32)

func init() {
	if !cpu.X86.HasAVX2 || !cpu.X86.HasFMA {
		return
	}
	haveNormSIMD = true
	sum64 = func(x []float32) float64 {
		n := len(x) &^ 15
		if n == 0 {
			return sum64Go(x)
		}
		return sumAVX2(&x[0], n) + sum64Go(x[n:])
	}
	sumSqDev64 = func(x []float32, mu float64) float64 {
		n := len(x) &^ 15
		if n == 0 {
			return sumSqDev64Go(x, mu)
		}
		return sumSqDevAVX2(&x[0], n, mu) + sumSqDev64Go(x[n:], mu)
	}
	affine = func(y, x []float32, a, b float32) {
		n := len(x) &^ 7
		if n > 0 {
			_ = y[n-1]
			affineAVX2(&y[0], &x[0], n, a, b)
		}
		affineGo(y[n:], x[n:], a, b)
	}
	normGradSums = func(dy, x []float32, gm, mu, r float32) (float64, float64) {
		n := len(dy) &^ 7
		if n == 0 {
			return normGradSumsGo(dy, x, gm, mu, r)
		}
		_ = x[n-1]
		a, b := normGradSumsAVX2(&dy[0], &x[0], n, gm, mu, r)
		ta, tb := normGradSumsGo(dy[n:], x[n:], gm, mu, r)
		return a + ta, b + tb
	}
	normDx = func(dx, dy, x []float32, gm, mu, r, m1, m2 float32) {
		n := len(dx) &^ 7
		if n > 0 {
			_, _ = dy[n-1], x[n-1]
			normDxAVX2(&dx[0], &dy[0], &x[0], n, gm, mu, r, m1, m2)
		}
		normDxGo(dx[n:], dy[n:], x[n:], gm, mu, r, m1, m2)
	}
}
