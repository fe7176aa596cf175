package nn

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// BenchmarkConv2D times the network's 3×3 convolutions at training's batch
// of 64, forward and backward (dx and dw), in GFLOP/s, with each of the
// machine's indirect micro-kernels. Run it with -cpu 1 to see one core's
// kernel efficiency.
func BenchmarkConv2D(b *testing.B) {
	all := indKernels
	defer func() { indKernels = all }()
	for _, ind := range all {
		indKernels = []indKernel{ind}
		b.Run(fmt.Sprintf("kernel=%dx%d", ind.mr, ind.nr), benchConv2D)
	}
}

func benchConv2D(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, c := range []struct{ n, cin, cout, h, stride int }{
		{64, 16, 16, 32, 1}, {64, 32, 32, 16, 1}, {64, 48, 16, 32, 1}, {64, 16, 16, 32, 2}, {64, 32, 32, 16, 2},
	} {
		ho := c.h / c.stride
		x, w, bias := randTensor(r, c.n, c.cin, c.h, c.h), randTensor(r, c.cout, c.cin, 3, 3), randTensor(r, c.cout)
		y, dy := be.New(c.n, c.cout, ho, ho), randTensor(r, c.n, c.cout, ho, ho)
		dx, dw, db := be.New(c.n, c.cin, c.h, c.h), be.New(c.cout, c.cin, 3, 3), be.New(c.cout)
		flop := float64(2 * c.n * c.cin * c.cout * 9 * ho * ho)
		name := fmt.Sprintf("n=%d/cin=%d/cout=%d/%dx%d/stride=%d", c.n, c.cin, c.cout, c.h, c.h, c.stride)
		b.Run(name+"/forward", func(b *testing.B) {
			for b.Loop() {
				be.Conv2D(y, x, w, bias, c.stride, 1)
			}
			b.ReportMetric(flop*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
		})
		b.Run(name+"/backward", func(b *testing.B) {
			for b.Loop() {
				be.Conv2DBackward(dx, dw, db, dy, x, w, c.stride, 1)
			}
			b.ReportMetric(2*flop*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
		})
	}
}
