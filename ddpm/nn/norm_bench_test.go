package nn

import (
	"math/rand/v2"
	"testing"
)

// BenchmarkGroupNorm is the default network's largest GroupNorm: 64 images
// of 16 channels at 32×32, 8 groups.
func BenchmarkGroupNorm(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 1))
	be := CPU{}
	x, gm, bt := randTensor(r, 64, 16, 32, 32), randTensor(r, 16), randTensor(r, 16)
	y, mean, rstd := be.New(x.Shape...), be.New(64*8), be.New(64*8)
	dy, dx, dg, db := randTensor(r, x.Shape...), be.New(x.Shape...), be.New(16), be.New(16)
	b.Run("forward", func(b *testing.B) {
		for b.Loop() {
			be.GroupNorm(y, mean, rstd, x, gm, bt, 8, 1e-5)
		}
	})
	b.Run("backward", func(b *testing.B) {
		for b.Loop() {
			be.GroupNormBackward(dx, dg, db, dy, x, mean, rstd, gm, 8)
		}
	})
}
