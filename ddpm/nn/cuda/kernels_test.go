//go:build linux && (amd64 || arm64)

package cuda

import (
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"sync"
	"testing"

	"github.com/ddpm-go/ddpm/ddpm/nn"
)

var (
	gpuOnce sync.Once
	gpu     *GPU
	gpuErr  error
)

// gpuOrSkip opens the GPU once per test binary, or skips the test when there
// is none, unless DDPM_REQUIRE_GPU=1 makes that a failure.
func gpuOrSkip(tb testing.TB) *GPU {
	tb.Helper()
	gpuOnce.Do(func() {
		if gpu, gpuErr = Open(Options{}); gpuErr == nil {
			tb.Logf("opened %s", gpu.Info())
		}
	})
	if gpuErr != nil {
		skipUnlessRequired(tb, gpuErr)
	}
	return gpu
}

// skipUnlessRequired skips the test for want of a GPU or a CUDA library, or
// fails it when DDPM_REQUIRE_GPU=1 says the machine must have them.
func skipUnlessRequired(tb testing.TB, err error) {
	tb.Helper()
	if os.Getenv("DDPM_REQUIRE_GPU") == "1" {
		tb.Fatal(err)
	}
	tb.Skip(err)
}

// kernelCase runs one or more backend calls on inputs (filled with random
// values) and outputs (also random, so accumulating kernels are checked too).
type kernelCase struct {
	name    string
	tol     float64 // max |got − want| / max |want|
	inputs  [][]int
	outputs [][]int
	run     func(be nn.Backend, in, out []*nn.Tensor) float64
}

func kernelCases() []kernelCase {
	ids := []int{3, 0, 3, 9, 10, 3}
	return []kernelCase{
		{"conv3x3", 1e-4, [][]int{{4, 8, 16, 16}, {16, 8, 3, 3}, {16}}, [][]int{{4, 16, 16, 16}},
			func(be nn.Backend, in, out []*nn.Tensor) float64 {
				be.Conv2D(out[0], in[0], in[1], in[2], 1, 1)
				return 0
			}},
		{"conv3x3/stride2", 1e-4, [][]int{{4, 8, 16, 16}, {8, 8, 3, 3}, {8}}, [][]int{{4, 8, 8, 8}},
			func(be nn.Backend, in, out []*nn.Tensor) float64 {
				be.Conv2D(out[0], in[0], in[1], in[2], 2, 1)
				return 0
			}},
		{"conv1x1/nobias", 1e-4, [][]int{{4, 8, 8, 8}, {16, 8, 1, 1}}, [][]int{{4, 16, 8, 8}},
			func(be nn.Backend, in, out []*nn.Tensor) float64 {
				be.Conv2D(out[0], in[0], in[1], nil, 1, 0)
				return 0
			}},
		{"conv3x3/backward", 1e-4, [][]int{{4, 16, 16, 16}, {4, 8, 16, 16}, {16, 8, 3, 3}}, [][]int{{4, 8, 16, 16}, {16, 8, 3, 3}, {16}},
			func(be nn.Backend, in, out []*nn.Tensor) float64 {
				be.Conv2DBackward(out[0], out[1], out[2], in[0], in[1], in[2], 1, 1)
				return 0
			}},
		{"conv3x3/stride2/backward", 1e-4, [][]int{{4, 8, 8, 8}, {4, 8, 16, 16}, {8, 8, 3, 3}}, [][]int{{4, 8, 16, 16}, {8, 8, 3, 3}, {8}},
			func(be nn.Backend, in, out []*nn.Tensor) float64 {
				be.Conv2DBackward(out[0], out[1], out[2], in[0], in[1], in[2], 2, 1)
				return 0
			}},
		{"linear", 1e-4, [][]int{{8, 64}, {32, 64}, {32}}, [][]int{{8, 32}},
			func(be nn.Backend, in, out []*nn.Tensor) float64 { be.Linear(out[0], in[0], in[1], in[2]); return 0 }},
		{"linear/backward", 1e-4, [][]int{{8, 32}, {8, 64}, {32, 64}}, [][]int{{8, 64}, {32, 64}, {32}},
			func(be nn.Backend, in, out []*nn.Tensor) float64 {
				be.LinearBackward(out[0], out[1], out[2], in[0], in[1], in[2])
				return 0
			}},
		{"gemm/batched/transA", 1e-4, [][]int{{3, 7, 5}, {3, 7, 6}}, [][]int{{3, 5, 6}},
			func(be nn.Backend, in, out []*nn.Tensor) float64 {
				be.GEMM(5, 6, 7, 3, 0.5, nn.Mat{T: in[0], Ld: 5, Stride: 35, Trans: true},
					nn.Mat{T: in[1], Ld: 6, Stride: 42}, 1, nn.Mat{T: out[0], Ld: 6, Stride: 30})
				return 0
			}},
		{"gemm/transB/offset", 1e-4, [][]int{{2 + 5*7}, {6, 7}}, [][]int{{5, 6}},
			func(be nn.Backend, in, out []*nn.Tensor) float64 {
				be.GEMM(5, 6, 7, 1, 1, nn.Mat{T: in[0], Off: 2, Ld: 7}, nn.Mat{T: in[1], Ld: 7, Trans: true}, 0, nn.Mat{T: out[0], Ld: 6})
				return 0
			}},
		{"groupnorm", 1e-5, [][]int{{4, 16, 8, 8}, {16}, {16}}, [][]int{{4, 16, 8, 8}, {32}, {32}},
			func(be nn.Backend, in, out []*nn.Tensor) float64 {
				be.GroupNorm(out[0], out[1], out[2], in[0], in[1], in[2], 8, 1e-5)
				return 0
			}},
		{"groupnorm/backward", 1e-5, [][]int{{4, 16, 8, 8}, {4, 16, 8, 8}, {16}, {16}}, [][]int{{4, 16, 8, 8}, {16}, {16}},
			func(be nn.Backend, in, out []*nn.Tensor) float64 {
				y, mean, rstd := be.New(4, 16, 8, 8), be.New(32), be.New(32)
				be.GroupNorm(y, mean, rstd, in[1], in[2], in[3], 8, 1e-5)
				be.GroupNormBackward(out[0], out[1], out[2], in[0], in[1], mean, rstd, in[2], 8)
				return 0
			}},
		{"silu", 1e-5, [][]int{{1000}}, [][]int{{1000}, {1000}},
			func(be nn.Backend, in, out []*nn.Tensor) float64 { be.SiLU(out[0], out[1], in[0]); return 0 }},
		{"silu/backward", 1e-5, [][]int{{1000}, {1000}}, [][]int{{1000}},
			func(be nn.Backend, in, out []*nn.Tensor) float64 {
				y, sig := be.New(1000), be.New(1000)
				be.SiLU(y, sig, in[1])
				be.SiLUBackward(out[0], in[0], in[1], sig)
				return 0
			}},
		{"softmax", 1e-5, [][]int{{4, 64, 64}}, [][]int{{4, 64, 64}},
			func(be nn.Backend, in, out []*nn.Tensor) float64 { be.SoftmaxRows(out[0], in[0]); return 0 }},
		{"softmax/backward", 1e-5, [][]int{{4, 64, 64}, {4, 64, 64}}, [][]int{{4, 64, 64}},
			func(be nn.Backend, in, out []*nn.Tensor) float64 {
				y := be.New(4, 64, 64)
				be.SoftmaxRows(y, in[1])
				be.SoftmaxRowsBackward(out[0], in[0], y)
				return 0
			}},
		{"add", 1e-6, [][]int{{999}, {999}}, [][]int{{999}},
			func(be nn.Backend, in, out []*nn.Tensor) float64 { be.Add(out[0], in[0], in[1]); return 0 }},
		{"axpy", 1e-6, [][]int{{999}}, [][]int{{999}},
			func(be nn.Backend, in, out []*nn.Tensor) float64 { be.Axpy(out[0], -0.3, in[0]); return 0 }},
		{"addchannels", 1e-6, [][]int{{4, 16, 8, 8}, {4, 16}}, [][]int{{4, 16, 8, 8}},
			func(be nn.Backend, in, out []*nn.Tensor) float64 { be.AddChannels(out[0], in[0], in[1]); return 0 }},
		{"sumchannels", 1e-5, [][]int{{4, 16, 8, 8}}, [][]int{{4, 16}},
			func(be nn.Backend, in, out []*nn.Tensor) float64 { be.SumChannels(out[0], in[0]); return 0 }},
		{"scalechannels", 1e-6, [][]int{{4, 16, 8, 8}, {4, 16}}, [][]int{{4, 16, 8, 8}},
			func(be nn.Backend, in, out []*nn.Tensor) float64 { be.ScaleChannels(out[0], in[0], in[1]); return 0 }},
		{"dotchannels", 1e-5, [][]int{{4, 16, 8, 8}, {4, 16, 8, 8}}, [][]int{{4, 16}},
			func(be nn.Backend, in, out []*nn.Tensor) float64 { be.DotChannels(out[0], in[0], in[1]); return 0 }},
		{"concat", 0, [][]int{{4, 16, 8, 8}, {4, 8, 8, 8}}, [][]int{{4, 24, 8, 8}},
			func(be nn.Backend, in, out []*nn.Tensor) float64 { be.Concat(out[0], in[0], in[1]); return 0 }},
		{"split", 0, [][]int{{4, 24, 8, 8}}, [][]int{{4, 16, 8, 8}, {4, 8, 8, 8}},
			func(be nn.Backend, in, out []*nn.Tensor) float64 { be.Split(out[0], out[1], in[0]); return 0 }},
		{"upsample", 0, [][]int{{4, 8, 8, 8}}, [][]int{{4, 8, 16, 16}},
			func(be nn.Backend, in, out []*nn.Tensor) float64 { be.Upsample2x(out[0], in[0]); return 0 }},
		{"upsample/backward", 1e-6, [][]int{{4, 8, 16, 16}}, [][]int{{4, 8, 8, 8}},
			func(be nn.Backend, in, out []*nn.Tensor) float64 { be.Upsample2xBackward(out[0], in[0]); return 0 }},
		{"embedding", 0, [][]int{{11, 64}}, [][]int{{len(ids), 64}},
			func(be nn.Backend, in, out []*nn.Tensor) float64 { be.Embedding(out[0], in[0], ids); return 0 }},
		{"embedding/backward", 1e-6, [][]int{{len(ids), 64}}, [][]int{{11, 64}},
			func(be nn.Backend, in, out []*nn.Tensor) float64 { be.EmbeddingBackward(out[0], in[0], ids); return 0 }},
		{"mse", 1e-6, [][]int{{4, 1, 32, 32}, {4, 1, 32, 32}}, [][]int{{4, 1, 32, 32}},
			func(be nn.Backend, in, out []*nn.Tensor) float64 { return be.MSE(out[0], in[0], in[1]) }},
		{"adam/3 steps", 1e-5, [][]int{{5000}}, [][]int{{5000}, {5000}, {5000}},
			func(be nn.Backend, in, out []*nn.Tensor) float64 {
				be.Zero(out[1])
				be.Zero(out[2])
				for step := 1; step <= 3; step++ {
					be.Adam(out[0], in[0], out[1], out[2], 2e-4, 0.9, 0.999, 1e-8, step)
				}
				return 0
			}},
		{"ema", 1e-6, [][]int{{5000}}, [][]int{{5000}},
			func(be nn.Backend, in, out []*nn.Tensor) float64 { be.EMA(out[0], in[0], 0.999); return 0 }},
	}
}

// compareBackends runs every kernel case on ref and on be from the same
// random inputs and reports the largest relative difference of each output.
func compareBackends(t *testing.T, ref, be nn.Backend) {
	for _, c := range kernelCases() {
		t.Run(c.name, func(t *testing.T) {
			r := rand.New(rand.NewPCG(1, 2))
			host := func(shapes [][]int) [][]float32 {
				out := make([][]float32, len(shapes))
				for i, s := range shapes {
					out[i] = make([]float32, (&nn.Tensor{Shape: s}).Len())
					for j := range out[i] {
						out[i][j] = float32(r.NormFloat64())
					}
				}
				return out
			}
			in, out := host(c.inputs), host(c.outputs)
			tensors := func(b nn.Backend, shapes [][]int, vals [][]float32) []*nn.Tensor {
				ts := make([]*nn.Tensor, len(shapes))
				for i, s := range shapes {
					ts[i] = b.New(s...)
					b.Upload(ts[i], vals[i])
				}
				return ts
			}
			refOut, beOut := tensors(ref, c.outputs, out), tensors(be, c.outputs, out)
			wantLoss := c.run(ref, tensors(ref, c.inputs, in), refOut)
			gotLoss := c.run(be, tensors(be, c.inputs, in), beOut)
			if d := math.Abs(gotLoss-wantLoss) / math.Max(math.Abs(wantLoss), 1e-30); !(d <= c.tol) {
				t.Errorf("returned %v, want %v (relative difference %.2g > %g)", gotLoss, wantLoss, d, c.tol)
			}
			for i := range c.outputs {
				want, got := make([]float32, refOut[i].Len()), make([]float32, beOut[i].Len())
				ref.Download(want, refOut[i])
				be.Download(got, beOut[i])
				if d := maxRelDiff(got, want); d > c.tol {
					t.Errorf("output %d: max relative difference %.3g > %g", i, d, c.tol)
				} else {
					t.Logf("output %d: max relative difference %.3g", i, d)
				}
			}
		})
	}
}

// maxRelDiff is max |got − want| / max |want|.
func maxRelDiff(got, want []float32) float64 {
	var diff, scale float64
	for i, w := range want {
		diff = math.Max(diff, math.Abs(float64(got[i])-float64(w)))
		scale = math.Max(scale, math.Abs(float64(w)))
	}
	if math.IsNaN(diff) || diff > 0 && scale == 0 {
		return math.Inf(1)
	}
	if diff == 0 {
		return 0
	}
	return diff / scale
}

// TestKernelsMatchCPU compares every GPU kernel with the CPU's on random inputs.
func TestKernelsMatchCPU(t *testing.T) {
	compareBackends(t, nn.CPU{}, gpuOrSkip(t))
}

// TestKernelCasesOnCPU runs the kernel cases CPU against CPU, so the cases
// themselves (shapes, calls) are checked on machines without a GPU too.
func TestKernelCasesOnCPU(t *testing.T) {
	compareBackends(t, nn.CPU{}, nn.CPU{})
}

// TestCompareCanFail checks that the comparison notices a wrong result.
func TestCompareCanFail(t *testing.T) {
	want := []float32{1, -2, 3}
	if d := maxRelDiff([]float32{1, -2, 3.001}, want); d < 3e-4 {
		t.Errorf("difference of 1e-3 reported as %g", d)
	}
	if d := maxRelDiff([]float32{1, float32(math.NaN()), 3}, want); !math.IsInf(d, 1) {
		t.Errorf("NaN reported as %g", d)
	}
}

func ExampleOpen() {
	g, err := Open(Options{})
	if err != nil {
		fmt.Println("no GPU; train on the CPU")
		return
	}
	defer g.Close()
	fmt.Println("training on", g.Info())
}
