package nn

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestSiLUBlockMatchesScalar checks the SIMD SiLU (where this build has one)
// against the scalar expf/sigmoid bit for bit, over random values, every
// range expf treats apart and the special values.
func TestSiLUBlockMatchesScalar(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	x := []float32{0, float32(math.Copysign(0, -1)), 1, -1, 88.7, -88.7, 87.3, -87.3, 88.71, -87.31, 89, -89, 100, -100, 1e-8, -1e-8,
		float32(math.Inf(1)), float32(math.Inf(-1)), float32(math.NaN()), math.MaxFloat32, -math.MaxFloat32, 103, -103}
	for _, span := range []float64{1, 10, 30, 90, 200} {
		for range 4000 {
			x = append(x, float32((r.Float64()*2-1)*span))
		}
	}
	for len(x)%8 != 3 { // a scalar tail too
		x = append(x, float32(r.NormFloat64()))
	}
	y, sig := make([]float32, len(x)), make([]float32, len(x))
	n := siluBlock(y, sig, x)
	if n == 0 {
		t.Skip("no SIMD SiLU in this build")
	}
	if n != len(x)&^7 {
		t.Fatalf("siluBlock did %d of %d values", n, len(x))
	}
	same := func(a, b float32) bool { return math.Float32bits(a) == math.Float32bits(b) || (a != a && b != b) }
	for i, v := range x[:n] {
		s := sigmoid(v)
		if !same(sig[i], s) || !same(y[i], v*s) {
			t.Fatalf("x = %v: σ %v (%08x), y %v; scalar σ %v (%08x), y %v", v, sig[i], math.Float32bits(sig[i]), y[i], s, math.Float32bits(s), v*s)
		}
	}
	// Without a separate σ buffer (sig = y), y is still x·σ(x).
	y2 := make([]float32, len(x))
	siluBlock(y2, y2, x)
	for i := range x[:n] {
		if !same(y2[i], y[i]) {
			t.Fatalf("x = %v: y %v with sig = y, %v without", x[i], y2[i], y[i])
		}
	}
}

func BenchmarkSiLU(b *testing.B) {
	x := make([]float32, 64*16*32*32)
	for i := range x {
		x[i] = float32(math.Sin(float64(i)))
	}
	y, s := CPU{}.New(len(x)), CPU{}.New(len(x))
	xt := &Tensor{Shape: []int{len(x)}, Data: x}
	simd := siluBlock
	for _, k := range []struct {
		name  string
		block func(y, sig, x []float32) int
	}{{"scalar", func(y, sig, x []float32) int { return 0 }}, {"simd", simd}} {
		b.Run(k.name, func(b *testing.B) {
			siluBlock = k.block
			defer func() { siluBlock = simd }()
			b.SetBytes(int64(4 * len(x)))
			for b.Loop() {
				CPU{}.SiLU(y, s, xt)
			}
		})
	}
}

// TestSiLUBackwardAndAddBlocks checks the SIMD SiLUBackward and Add blocks
// against the scalar formulas bit for bit.
func TestSiLUBackwardAndAddBlocks(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	const n = 1003
	x, dy, sig := make([]float32, n), make([]float32, n), make([]float32, n)
	for i := range x {
		x[i] = float32(r.NormFloat64() * 5)
		dy[i] = float32(r.NormFloat64())
		sig[i] = sigmoid(x[i])
	}
	dx := make([]float32, n)
	got := siluBackwardBlock(dx, dy, x, sig)
	if got == 0 {
		t.Skip("no SIMD SiLUBackward in this build")
	}
	same := func(a, b float32) bool { return math.Float32bits(a) == math.Float32bits(b) }
	for i := range dx[:got] {
		v, s := x[i], sig[i]
		if want := dy[i] * s * (1 + float32(v*(1-s))); !same(dx[i], want) {
			t.Fatalf("SiLUBackward at x = %v: %v, scalar %v", v, dx[i], want)
		}
	}
	y := make([]float32, n)
	if got := addBlock(y, x, dy); got != n&^7 {
		t.Fatalf("addBlock did %d of %d", got, n)
	}
	for i := range y[:n&^7] {
		if !same(y[i], x[i]+dy[i]) {
			t.Fatalf("Add at %d: %v, want %v", i, y[i], x[i]+dy[i])
		}
	}
}

func BenchmarkSiLUBackwardAndAdd(b *testing.B) {
	const n = 64 * 16 * 32 * 32
	be := CPU{}
	x, dy, sig, dx := be.New(n), be.New(n), be.New(n), be.New(n)
	for i := range x.Data {
		x.Data[i], dy.Data[i] = float32(math.Sin(float64(i))), float32(math.Cos(float64(i)))
	}
	be.SiLU(be.New(n), sig, x)
	sb, ab := siluBackwardBlock, addBlock
	defer func() { siluBackwardBlock, addBlock = sb, ab }()
	none3 := func(a, b, c []float32) int { return 0 }
	for _, k := range []struct {
		name string
		simd bool
	}{{"scalar", false}, {"simd", true}} {
		siluBackwardBlock, addBlock = sb, ab
		if !k.simd {
			siluBackwardBlock, addBlock = func(a, b, c, d []float32) int { return 0 }, none3
		}
		b.Run("SiLUBackward/"+k.name, func(b *testing.B) {
			for b.Loop() {
				be.SiLUBackward(dx, dy, x, sig)
			}
		})
		b.Run("Add/"+k.name, func(b *testing.B) {
			for b.Loop() {
				be.Add(dx, dy, x)
			}
		})
	}
}
