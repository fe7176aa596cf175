package nn

import (
	"math/rand/v2"
	"testing"
)

// BenchmarkPortableKernels times the plain-Go micro-kernels that WebAssembly
// runs (run it with GOOS=js GOARCH=wasm to see the browser's numbers).
func BenchmarkPortableKernels(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 1))
	const k = 288
	a, bb, t := randTensor(r, 4*k).Data, randTensor(r, 4*k).Data, make([]float32, 16)
	b.Run("kernel4x4", func(b *testing.B) {
		for b.Loop() {
			kernel4x4(k, a, bb, t)
		}
		b.ReportMetric(float64(2*16*k)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
	})
	offs := make([]int32, k)
	for i := range offs {
		offs[i] = int32(4 * i)
	}
	c := make([]float32, 4*8)
	b.Run("kernelInd4x4", func(b *testing.B) {
		for b.Loop() {
			kernelInd4x4(k, a, bb, offs, c, 8)
		}
		b.ReportMetric(float64(2*16*k)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
	})
}
