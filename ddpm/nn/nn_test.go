package nn

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

var be Backend = CPU{}

func randTensor(r *rand.Rand, shape ...int) *Tensor {
	t := be.New(shape...)
	for i := range t.Data {
		t.Data[i] = float32(r.NormFloat64())
	}
	return t
}

func naiveGEMM(tA, tB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	for i := 0; i < m; i++ {
		for j := 0; j < n; j++ {
			var s float64
			for p := 0; p < k; p++ {
				ai, bi := i*lda+p, p*ldb+j
				if tA {
					ai = p*lda + i
				}
				if tB {
					bi = j*ldb + p
				}
				av, bv := a[ai], b[bi]
				s += float64(av) * float64(bv)
			}
			c[i*ldc+j] = float32(float64(alpha)*s + float64(beta)*float64(c[i*ldc+j]))
		}
	}
}

func relErr(got, want []float32) float64 {
	var num, den float64
	for i := range got {
		d := float64(got[i]) - float64(want[i])
		num += d * d
		den += float64(want[i]) * float64(want[i])
	}
	if den == 0 {
		return math.Sqrt(num)
	}
	return math.Sqrt(num / den)
}

func TestSGEMM(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	kernels := map[string]struct {
		mr, nr int
		k      microKernel
	}{"go4x4": {4, 4, kernel4x4}, "native": {kernMR, kernNR, kernel}}
	for name, kc := range kernels {
		saveMR, saveNR, saveK, saveAcc := kernMR, kernNR, kernel, kernelAcc
		kernMR, kernNR, kernel = kc.mr, kc.nr, kc.k
		if name == "go4x4" {
			kernelAcc = nil
		}
		for _, sz := range [][3]int{{1, 1, 1}, {7, 5, 3}, {33, 17, 300}, {100, 1030, 9}, {6, 16, 257}} {
			m, n, k := sz[0], sz[1], sz[2]
			for _, tA := range []bool{false, true} {
				for _, tB := range []bool{false, true} {
					a := randTensor(r, m*k).Data
					b := randTensor(r, k*n).Data
					lda, ldb := k, n
					if tA {
						lda = m
					}
					if tB {
						ldb = k
					}
					c := randTensor(r, m*n).Data
					want := append([]float32(nil), c...)
					sgemm(tA, tB, m, n, k, 0.5, a, lda, b, ldb, 0.25, c, n)
					naiveGEMM(tA, tB, m, n, k, 0.5, a, lda, b, ldb, 0.25, want, n)
					if e := relErr(c, want); e > 1e-5 {
						t.Errorf("%s %dx%dx%d tA=%v tB=%v: rel err %g", name, m, n, k, tA, tB, e)
					}
				}
			}
		}
		kernMR, kernNR, kernel, kernelAcc = saveMR, saveNR, saveK, saveAcc
	}
}

// gradCase checks a kernel's backward pass against central differences of
// L = Σ y·r for a random r.
type gradCase struct {
	name     string
	inputs   []*Tensor
	forward  func() *Tensor
	backward func(dy *Tensor) []*Tensor
}

func checkGrad(t *testing.T, tc gradCase) {
	t.Helper()
	r := rand.New(rand.NewPCG(9, 9))
	y := tc.forward()
	rr := randTensor(r, y.Shape...)
	loss := func() float64 {
		y := tc.forward()
		var s float64
		for i, v := range y.Data {
			s += float64(v) * float64(rr.Data[i])
		}
		return s
	}
	grads := tc.backward(rr)
	for k, in := range tc.inputs {
		var got, want []float32
		for s := 0; s < 24; s++ {
			i := r.IntN(len(in.Data))
			old := in.Data[i]
			const h = 1e-2
			in.Data[i] = old + h
			lp := loss()
			in.Data[i] = old - h
			lm := loss()
			in.Data[i] = old
			got = append(got, grads[k].Data[i])
			want = append(want, float32((lp-lm)/(2*h)))
		}
		if e := relErr(got, want); e > 2e-3 {
			t.Errorf("%s: input %d: gradient rel err %.3g vs finite differences\n got  %v\n want %v", tc.name, k, e, got[:6], want[:6])
		}
	}
}

// kernelSets runs f with the CPU's micro-kernels and with the portable ones
// (those WebAssembly uses), so both are checked on every machine.
func kernelSets(t *testing.T, f func(t *testing.T)) {
	t.Run("native", f)
	t.Run("portable", func(t *testing.T) {
		mr, nr, k, ka, ki, kr := kernMR, kernNR, kernel, kernelAcc, indKernels, kernelRows
		kernMR, kernNR, kernel, kernelAcc, indKernels, kernelRows = 4, 4, kernel4x4, nil, []indKernel{{4, 4, kernelInd4x4}}, kernelRows4x4
		defer func() { kernMR, kernNR, kernel, kernelAcc, indKernels, kernelRows = mr, nr, k, ka, ki, kr }()
		f(t)
	})
	// Each native indirect kernel on its own, so that none is left unused
	// by pickInd's choice for the test's channel counts.
	if len(indKernels) == 1 {
		return
	}
	for _, ind := range indKernels {
		t.Run(fmt.Sprintf("ind%dx%d", ind.mr, ind.nr), func(t *testing.T) {
			old := indKernels
			indKernels = []indKernel{ind}
			defer func() { indKernels = old }()
			f(t)
		})
	}
}

func TestKernelGradients(t *testing.T) { kernelSets(t, testKernelGradients) }

func testKernelGradients(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	var cases []gradCase
	for _, cc := range []struct{ cin, cout, k, stride, pad, h int }{
		{3, 4, 3, 1, 1, 6}, {3, 5, 3, 2, 1, 8}, {4, 3, 1, 1, 0, 5}, {2, 3, 3, 1, 0, 5}, {5, 20, 3, 1, 1, 7}, {20, 1, 3, 1, 1, 4},
	} {
		x := randTensor(r, 2, cc.cin, cc.h, cc.h)
		w := randTensor(r, cc.cout, cc.cin, cc.k, cc.k)
		b := randTensor(r, cc.cout)
		ho := (cc.h+2*cc.pad-cc.k)/cc.stride + 1
		y := be.New(2, cc.cout, ho, ho)
		cases = append(cases, gradCase{
			name:    fmt.Sprintf("conv%+v", cc),
			inputs:  []*Tensor{x, w, b},
			forward: func() *Tensor { be.Conv2D(y, x, w, b, cc.stride, cc.pad); return y },
			backward: func(dy *Tensor) []*Tensor {
				dx, dw, db := be.New(x.Shape...), be.New(w.Shape...), be.New(b.Shape...)
				be.Conv2DBackward(dx, dw, db, dy, x, w, cc.stride, cc.pad)
				return []*Tensor{dx, dw, db}
			},
		})
	}
	{
		x, w, b := randTensor(r, 3, 5), randTensor(r, 4, 5), randTensor(r, 4)
		y := be.New(3, 4)
		cases = append(cases, gradCase{"linear", []*Tensor{x, w, b},
			func() *Tensor { be.Linear(y, x, w, b); return y },
			func(dy *Tensor) []*Tensor {
				dx, dw, db := be.New(3, 5), be.New(4, 5), be.New(4)
				be.LinearBackward(dx, dw, db, dy, x, w)
				return []*Tensor{dx, dw, db}
			}})
	}
	{
		x, gm, bt := randTensor(r, 2, 6, 3, 3), randTensor(r, 6), randTensor(r, 6)
		y, mean, rstd := be.New(2, 6, 3, 3), be.New(2*3), be.New(2*3)
		cases = append(cases, gradCase{"groupnorm", []*Tensor{x, gm, bt},
			func() *Tensor { be.GroupNorm(y, mean, rstd, x, gm, bt, 3, 1e-5); return y },
			func(dy *Tensor) []*Tensor {
				dx, dg, db := be.New(x.Shape...), be.New(6), be.New(6)
				be.GroupNormBackward(dx, dg, db, dy, x, mean, rstd, gm, 3)
				return []*Tensor{dx, dg, db}
			}})
	}
	{
		x := randTensor(r, 50)
		y, sig := be.New(50), be.New(50)
		cases = append(cases, gradCase{"silu", []*Tensor{x},
			func() *Tensor { be.SiLU(y, sig, x); return y },
			func(dy *Tensor) []*Tensor { dx := be.New(50); be.SiLUBackward(dx, dy, x, sig); return []*Tensor{dx} }})
	}
	{
		x := randTensor(r, 3, 7)
		y := be.New(3, 7)
		cases = append(cases, gradCase{"softmax", []*Tensor{x},
			func() *Tensor { be.SoftmaxRows(y, x); return y },
			func(dy *Tensor) []*Tensor {
				dx := be.New(3, 7)
				be.SoftmaxRowsBackward(dx, dy, y)
				return []*Tensor{dx}
			}})
	}
	{
		x := randTensor(r, 2, 3, 4, 5)
		y := be.New(2, 3, 8, 10)
		cases = append(cases, gradCase{"upsample", []*Tensor{x},
			func() *Tensor { be.Upsample2x(y, x); return y },
			func(dy *Tensor) []*Tensor {
				dx := be.New(x.Shape...)
				be.Upsample2xBackward(dx, dy)
				return []*Tensor{dx}
			}})
	}
	{
		a, b := randTensor(r, 2, 3, 2, 2), randTensor(r, 2, 1, 2, 2)
		y := be.New(2, 4, 2, 2)
		cases = append(cases, gradCase{"concat", []*Tensor{a, b},
			func() *Tensor { be.Concat(y, a, b); return y },
			func(dy *Tensor) []*Tensor {
				da, db := be.New(a.Shape...), be.New(b.Shape...)
				be.Split(da, db, dy)
				return []*Tensor{da, db}
			}})
	}
	{
		x, v := randTensor(r, 2, 3, 4), randTensor(r, 2, 3)
		y := be.New(2, 3, 4)
		cases = append(cases, gradCase{"addchannels", []*Tensor{x, v},
			func() *Tensor { be.AddChannels(y, x, v); return y },
			func(dy *Tensor) []*Tensor {
				dv := be.New(2, 3)
				be.SumChannels(dv, dy)
				return []*Tensor{dy, dv}
			}})
	}
	{
		x, s := randTensor(r, 2, 3, 4), randTensor(r, 2, 3)
		y := be.New(2, 3, 4)
		cases = append(cases, gradCase{"scalechannels", []*Tensor{x, s},
			func() *Tensor { be.ScaleChannels(y, x, s); return y },
			func(dy *Tensor) []*Tensor {
				dx, ds := be.New(2, 3, 4), be.New(2, 3)
				be.ScaleChannels(dx, dy, s)
				be.DotChannels(ds, dy, x)
				return []*Tensor{dx, ds}
			}})
	}
	{
		table := randTensor(r, 5, 3)
		ids := []int{4, 0, 4}
		y := be.New(3, 3)
		cases = append(cases, gradCase{"embedding", []*Tensor{table},
			func() *Tensor { be.Embedding(y, table, ids); return y },
			func(dy *Tensor) []*Tensor {
				dt := be.New(5, 3)
				be.EmbeddingBackward(dt, dy, ids)
				return []*Tensor{dt}
			}})
	}
	for _, tc := range cases {
		checkGrad(t, tc)
	}
}

func TestBatchedGEMM(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	const m, n, k, batch = 5, 7, 3, 4
	a, b := randTensor(r, batch, k, m), randTensor(r, batch, k, n) // a stored transposed
	c := be.New(batch, m, n)
	be.GEMM(m, n, k, batch, 1, Mat{T: a, Ld: m, Stride: k * m, Trans: true}, Mat{T: b, Ld: n, Stride: k * n}, 0, Mat{T: c, Ld: n, Stride: m * n})
	for i := 0; i < batch; i++ {
		want := make([]float32, m*n)
		naiveGEMM(true, false, m, n, k, 1, a.Data[i*k*m:], m, b.Data[i*k*n:], n, 0, want, n)
		if e := relErr(c.Data[i*m*n:(i+1)*m*n], want); e > 1e-6 {
			t.Errorf("batch %d: rel err %g", i, e)
		}
	}
}

func TestAdamAndEMA(t *testing.T) {
	p := &Tensor{Shape: []int{2}, Data: []float32{1, -1}}
	g := &Tensor{Shape: []int{2}, Data: []float32{0.5, -2}}
	m, v := be.New(2), be.New(2)
	be.Adam(p, g, m, v, 0.1, 0.9, 0.999, 1e-8, 1)
	// With bias correction the first step moves each parameter by lr·sign(g).
	if math.Abs(float64(p.Data[0]-0.9)) > 1e-6 || math.Abs(float64(p.Data[1]+0.9)) > 1e-6 {
		t.Errorf("after one Adam step p = %v, want [0.9 -0.9]", p.Data)
	}
	avg := &Tensor{Shape: []int{2}, Data: []float32{0, 0}}
	be.EMA(avg, p, 0.75)
	if math.Abs(float64(avg.Data[0]-0.225)) > 1e-6 {
		t.Errorf("EMA = %v, want 0.225", avg.Data[0])
	}
}

func BenchmarkSGEMM(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 1))
	const m, n, k = 32, 1024, 288
	x, y, c := randTensor(r, m*k).Data, randTensor(r, k*n).Data, make([]float32, m*n)
	b.SetBytes(0)
	for b.Loop() {
		sgemm(false, false, m, n, k, 1, x, k, y, n, 0, c, n)
	}
	b.ReportMetric(float64(2*m*n*k)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
}

func TestExpf(t *testing.T) {
	var worst float64
	for x := -87.0; x < 88.5; x += 0.0137 {
		got, want := float64(expf(float32(x))), math.Exp(float64(float32(x)))
		worst = max(worst, math.Abs(got-want)/want)
	}
	if worst > 1e-6 {
		t.Errorf("expf worst relative error %g", worst)
	}
	if expf(-100) != 0 || !math.IsInf(float64(expf(100)), 1) {
		t.Error("expf does not saturate")
	}
}
