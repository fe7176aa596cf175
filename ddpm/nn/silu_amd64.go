package nn

import (
	"math"

	"golang.org/x/sys/cpu"
)

//go:noescape
func siluAVX2(x, y, sig *float32, n int, c *[16][8]uint32)

//go:noescape
func siluBackwardAVX2(dx, dy, x, sig *float32, n int, one *[8]uint32)

//go:noescape
func addAVX2(y, a, b *float32, n int)

// siluConsts are expf's constants, each 8 times, in siluAVX2's order.
var siluConsts = func() (c [16][8]uint32) {
	const log2e, ln2lo = 1.44269504088896341, 1.42860682030941723212e-6
	for i, v := range []float32{log2e, 12582912, 0.693145751953125, ln2lo, 1, 88.7, -87.3, 0,
		1.0 / 5040, 1.0 / 720, 1.0 / 120, 1.0 / 24, 1.0 / 6, 1.0 / 2, 0, float32(math.Inf(1))} {
		for j := range c[i] {
			c[i][j] = math.Float32bits(v)
		}
	}
	for j := range c[7] {
		c[7][j] = 1 << 31 // the sign bit
		c[14][j] = 127    // the exponent bias
	}
	return c
}()

func init() {
	if cpu.X86.HasAVX2 {
		siluBlock = func(y, sig, x []float32) int {
			n := len(x) &^ 7
			if n > 0 {
				_, _ = y[n-1], sig[n-1]
				siluAVX2(&x[0], &y[0], &sig[0], n, &siluConsts)
			}
			return n
		}
		siluBackwardBlock = func(dx, dy, x, sig []float32) int {
			n := len(dx) &^ 7
			if n > 0 {
				_, _, _ = dy[n-1], x[n-1], sig[n-1]
				siluBackwardAVX2(&dx[0], &dy[0], &x[0], &sig[0], n, &siluConsts[4]) // row 4: 1 in every lane
			}
			return n
		}
		addBlock = func(y, a, b []float32) int {
			n := len(y) &^ 7
			if n > 0 {
				_, _ = a[n-1], b[n-1]
				addAVX2(&y[0], &a[0], &b[0], n)
			}
			return n
		}
	}
}
