//go:build js && wasm

package nn

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// TestWasmSIMDConv checks the WebAssembly SIMD convolution against the Go
// kernels on the network's layer shapes and some awkward ones.
func TestWasmSIMDConv(t *testing.T) {
	if on, err := WasmSIMD(); !on {
		t.Fatalf("the SIMD kernels did not load under this engine: %v", err)
	}
	defer SetWasmSIMD(true)
	r := rand.New(rand.NewPCG(5, 6))
	for _, c := range []struct{ n, cin, cout, k, stride, pad, h int }{
		{2, 1, 16, 3, 1, 1, 32}, {3, 16, 16, 3, 1, 1, 32}, {2, 48, 16, 3, 1, 1, 32}, {2, 16, 16, 3, 2, 1, 32},
		{2, 32, 32, 3, 2, 1, 16}, {2, 64, 32, 1, 1, 0, 8}, {1, 16, 1, 3, 1, 1, 32}, {2, 3, 5, 3, 1, 1, 7},
		{2, 2, 3, 3, 1, 0, 5}, {2, 5, 6, 1, 1, 0, 3}, {1, 3, 5, 3, 2, 1, 8}, {2, 3, 4, 3, 2, 0, 7}, {1, 2, 3, 5, 3, 2, 11},
	} {
		t.Run(fmt.Sprintf("%+v", c), func(t *testing.T) {
			x := randTensor(r, c.n, c.cin, c.h, c.h)
			w := randTensor(r, c.cout, c.cin, c.k, c.k)
			b := randTensor(r, c.cout)
			ho := (c.h+2*c.pad-c.k)/c.stride + 1
			got, want := be.New(c.n, c.cout, ho, ho), be.New(c.n, c.cout, ho, ho)
			SetWasmSIMD(false)
			be.Conv2D(want, x, w, b, c.stride, c.pad)
			if !SetWasmSIMD(true) {
				t.Fatal("SetWasmSIMD(true) did not switch the SIMD kernels on")
			}
			be.Conv2D(got, x, w, b, c.stride, c.pad)
			if e := relErr(got.Data, want.Data); e > 1e-6 {
				t.Errorf("relative error %.3g against the Go kernels", e)
			}
		})
	}
}

// BenchmarkWasmSIMDConv compares one 3×3 convolution of the network
// (batch 16, 16→16 channels, 32×32) with and without SIMD, in one run.
func BenchmarkWasmSIMDConv(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 2))
	x, w, bias := randTensor(r, 16, 16, 32, 32), randTensor(r, 16, 16, 3, 3), randTensor(r, 16)
	y := be.New(16, 16, 32, 32)
	defer SetWasmSIMD(true)
	for _, on := range []bool{false, true} {
		b.Run(fmt.Sprintf("simd=%v", on), func(b *testing.B) {
			SetWasmSIMD(on)
			for b.Loop() {
				be.Conv2D(y, x, w, bias, 1, 1)
			}
			b.ReportMetric(float64(2*16*16*16*9*32*32)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
		})
	}
}

// TestWasmSIMDSiLU checks that the SIMD SiLU gives Go's bits, across the
// range of expf and its special cases.
func TestWasmSIMDSiLU(t *testing.T) {
	defer SetWasmSIMD(true)
	r := rand.New(rand.NewPCG(7, 8))
	x := randTensor(r, 4099)
	for i := range x.Data {
		x.Data[i] *= 30
	}
	copy(x.Data, []float32{0, -0, 1e-30, -1e-30, 88.7, 88.8, -87.3, -87.4, 100, -100, float32(math.Inf(1)), float32(math.Inf(-1)), float32(math.NaN())})
	y, sig, wantY, wantSig := be.New(x.Shape...), be.New(x.Shape...), be.New(x.Shape...), be.New(x.Shape...)
	SetWasmSIMD(false)
	be.SiLU(wantY, wantSig, x)
	SetWasmSIMD(true)
	be.SiLU(y, sig, x)
	bad := 0
	for i := range x.Data {
		if math.Float32bits(y.Data[i]) != math.Float32bits(wantY.Data[i]) || math.Float32bits(sig.Data[i]) != math.Float32bits(wantSig.Data[i]) {
			if !(y.Data[i] != y.Data[i] && wantY.Data[i] != wantY.Data[i]) { // any NaN is fine
				if bad++; bad <= 5 {
					t.Errorf("x=%g: y %g σ %g, Go's y %g σ %g", x.Data[i], y.Data[i], sig.Data[i], wantY.Data[i], wantSig.Data[i])
				}
			}
		}
	}
}

// TestWasmSIMDGroupNorm checks the SIMD GroupNorm against Go's.
func TestWasmSIMDGroupNorm(t *testing.T) {
	defer SetWasmSIMD(true)
	r := rand.New(rand.NewPCG(9, 10))
	for _, c := range []struct{ n, c, groups, h int }{{2, 16, 8, 32}, {3, 32, 8, 8}, {2, 8, 2, 16}, {1, 6, 3, 2}} {
		x, gamma, beta := randTensor(r, c.n, c.c, c.h, c.h), randTensor(r, c.c), randTensor(r, c.c)
		for i := range x.Data {
			x.Data[i] = 3 + 2*x.Data[i] // a mean far from 0
		}
		out := func(on bool) (y, mean, rstd *Tensor) {
			SetWasmSIMD(on)
			y, mean, rstd = be.New(x.Shape...), be.New(c.n*c.groups), be.New(c.n*c.groups)
			be.GroupNorm(y, mean, rstd, x, gamma, beta, c.groups, 1e-5)
			return
		}
		y, mean, rstd := out(true)
		wy, wmean, wrstd := out(false)
		for _, d := range []struct {
			name      string
			got, want []float32
		}{{"y", y.Data, wy.Data}, {"mean", mean.Data, wmean.Data}, {"rstd", rstd.Data, wrstd.Data}} {
			if e := relErr(d.got, d.want); e > 1e-6 {
				t.Errorf("%+v: %s relative error %.3g against Go's", c, d.name, e)
			}
		}
	}
}

// TestWasmSIMDGEMM checks the SIMD GEMM against Go's for every combination
// of transposes, sizes that are not multiples of the tile, offsets, strides
// and row distances wider than the matrices, and alpha ≠ 1.
func TestWasmSIMDGEMM(t *testing.T) {
	defer SetWasmSIMD(true)
	r := rand.New(rand.NewPCG(11, 12))
	for _, c := range []struct {
		m, n, k, batch int
		tA, tB         bool
		alpha          float32
	}{
		{64, 64, 16, 3, true, false, 0.25}, {16, 64, 64, 2, false, true, 1}, {5, 7, 3, 2, false, false, 1},
		{6, 9, 11, 1, true, true, -0.5}, {1, 1, 1, 2, false, false, 2}, {13, 20, 8, 3, false, true, 1},
	} {
		t.Run(fmt.Sprintf("%+v", c), func(t *testing.T) {
			rows, cols := c.m, c.k // A as stored
			if c.tA {
				rows, cols = c.k, c.m
			}
			a := Mat{Off: 3, Ld: cols + 2, Trans: c.tA}
			a.Stride = rows*a.Ld + 5
			a.T = randTensor(r, a.Off+c.batch*a.Stride)
			rows, cols = c.k, c.n
			if c.tB {
				rows, cols = c.n, c.k
			}
			b := Mat{Off: 1, Ld: cols + 1, Trans: c.tB}
			b.Stride = rows*b.Ld + 2
			b.T = randTensor(r, b.Off+c.batch*b.Stride)
			out := func(on bool) []float32 {
				SetWasmSIMD(on)
				cm := Mat{Off: 2, Ld: c.n + 3}
				cm.Stride = c.m*cm.Ld + 1
				cm.T = randTensor(r, cm.Off+c.batch*cm.Stride)
				be.GEMM(c.m, c.n, c.k, c.batch, c.alpha, a, b, 0, cm)
				// Only the matrices' elements are the result; the gaps keep their random values.
				var res []float32
				for i := 0; i < c.batch; i++ {
					for row := 0; row < c.m; row++ {
						o := cm.Off + i*cm.Stride + row*cm.Ld
						res = append(res, cm.T.Data[o:o+c.n]...)
					}
				}
				return res
			}
			if e := relErr(out(true), out(false)); e > 1e-6 {
				t.Errorf("relative error %.3g against Go's", e)
			}
		})
	}
}

// TestWasmSIMDSoftmax checks the SIMD softmax against Go's, with rows of
// very different scales and one far from 0.
func TestWasmSIMDSoftmax(t *testing.T) {
	defer SetWasmSIMD(true)
	r := rand.New(rand.NewPCG(13, 14))
	for _, d := range []int{4, 64, 12} {
		x := randTensor(r, 7, d)
		for i := range x.Data {
			x.Data[i] *= float32(1 + i/d*3)
		}
		for i := 0; i < d; i++ {
			x.Data[i] += 50
		}
		got, want := be.New(x.Shape...), be.New(x.Shape...)
		SetWasmSIMD(false)
		be.SoftmaxRows(want, x)
		SetWasmSIMD(true)
		be.SoftmaxRows(got, x)
		if e := relErr(got.Data, want.Data); e > 1e-6 {
			t.Errorf("d=%d: relative error %.3g against Go's", d, e)
		}
		be.SoftmaxRows(x, x) // in place, as the attention block calls it
		if e := relErr(x.Data, want.Data); e > 1e-6 {
			t.Errorf("d=%d in place: relative error %.3g against Go's", d, e)
		}
	}
}

// TestWasmSIMDViews checks the views that operands are copied through: a
// repeated convolution makes no new one, and after the module's memory grows
// (a larger batch) the same small convolution is still right, not copied
// through views of the old, detached buffer.
func TestWasmSIMDViews(t *testing.T) {
	if on, err := WasmSIMD(); !on {
		t.Fatalf("the SIMD kernels did not load under this engine: %v", err)
	}
	defer SetWasmSIMD(true)
	r := rand.New(rand.NewPCG(7, 8))
	conv := func(n, h int) {
		t.Helper()
		x, w, b := randTensor(r, n, 4, h, h), randTensor(r, 4, 4, 3, 3), randTensor(r, 4)
		got, want := be.New(n, 4, h, h), be.New(n, 4, h, h)
		SetWasmSIMD(false)
		be.Conv2D(want, x, w, b, 1, 1)
		SetWasmSIMD(true)
		be.Conv2D(got, x, w, b, 1, 1)
		if e := relErr(got.Data, want.Data); e > 1e-6 {
			t.Errorf("batch %d of %d×%d: relative error %.3g against the Go kernels", n, h, h, e)
		}
	}
	conv(1, 6)
	views := len(simd.views)
	conv(1, 6)
	if len(simd.views) != views {
		t.Errorf("a repeated convolution made %d new views", len(simd.views)-views)
	}
	size := simd.size
	conv(64, 96) // 9 MB of images: the memory must grow
	if simd.size == size {
		t.Fatalf("the module's memory did not grow (%d bytes)", size)
	}
	conv(1, 6)
}
