package unet

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/ddpm-go/ddpm/ddpm/nn"
)

// tinyConfig is small enough for finite differences over every parameter tensor.
func tinyConfig() Config {
	return Config{ImageSize: 8, InChannels: 1, Channels: 4, Mults: []int{1, 2}, NumResBlocks: 1,
		Attention: true, Groups: 2, NumClasses: 3}
}

func randomize(m *Model, seed uint64) {
	r := rand.New(rand.NewPCG(seed, 1))
	for _, p := range m.Params {
		for i := range p.W.Data {
			p.W.Data[i] = float32(r.NormFloat64() * 0.3)
		}
	}
}

// lossOf runs the model and returns Σ out·w for fixed weights w.
func lossOf(t *testing.T, m *Model, x *nn.Tensor, ts, labels []int, w []float32) float64 {
	out, err := m.Forward(x, ts, labels)
	if err != nil {
		t.Fatal(err)
	}
	var s float64
	for i, v := range out.Data {
		s += float64(v) * float64(w[i])
	}
	return s
}

func TestModelGradientFiniteDifferences(t *testing.T) {
	scaled := tinyConfig()
	scaled.EmbScale = true
	for _, cfg := range []Config{tinyConfig(), scaled} {
		t.Run(fmt.Sprintf("emb_scale=%v", cfg.EmbScale), func(t *testing.T) { testModelGradient(t, cfg) })
	}
}

func testModelGradient(t *testing.T, cfg Config) {
	be := nn.CPU{}
	m, err := New(cfg, be, 1)
	if err != nil {
		t.Fatal(err)
	}
	randomize(m, 2)
	r := rand.New(rand.NewPCG(3, 3))
	x := be.New(2, 1, 8, 8)
	for i := range x.Data {
		x.Data[i] = float32(r.NormFloat64())
	}
	ts, labels := []int{5, 700}, []int{1, 3}
	w := make([]float32, x.Len())
	for i := range w {
		w[i] = float32(r.NormFloat64())
	}
	out, _ := m.Forward(x, ts, labels)
	dout := be.New(out.Shape...)
	copy(dout.Data, w)
	m.ZeroGrad()
	m.Backward(dout)
	for _, p := range m.Params {
		var got, want []float64
		for s := 0; s < 4; s++ {
			i := r.IntN(len(p.W.Data))
			old := p.W.Data[i]
			const h = 1e-2
			p.W.Data[i] = old + h
			lp := lossOf(t, m, x, ts, labels, w)
			p.W.Data[i] = old - h
			lm := lossOf(t, m, x, ts, labels, w)
			p.W.Data[i] = old
			got = append(got, float64(p.G.Data[i]))
			want = append(want, (lp-lm)/(2*h))
		}
		// Float32 central differences carry ~1e-4 absolute noise here; the
		// strict comparison is against gorgonia in float64 (ddpm/gorgoniaref).
		for i := range got {
			if math.Abs(got[i]-want[i]) > 1e-2*math.Abs(want[i])+2e-4 {
				t.Errorf("%s: gradient %v, finite differences %v", p.Name, got, want)
				break
			}
		}
	}
}

func TestModelRejectsBadInput(t *testing.T) {
	be := nn.CPU{}
	m, _ := New(tinyConfig(), be, 1)
	x := be.New(2, 1, 8, 8)
	for _, tc := range []struct {
		name   string
		x      *nn.Tensor
		ts     []int
		labels []int
	}{
		{"wrong image size", be.New(2, 1, 4, 4), []int{1, 2}, []int{0, 0}},
		{"timesteps count", x, []int{1}, []int{0, 0}},
		{"labels count", x, []int{1, 2}, []int{0}},
		{"label range", x, []int{1, 2}, []int{0, 4}},
	} {
		if _, err := m.Forward(tc.x, tc.ts, tc.labels); err == nil {
			t.Errorf("%s: no error", tc.name)
		}
	}
	if _, err := New(Config{ImageSize: 30, InChannels: 1, Channels: 8, Mults: []int{1, 2, 2}, NumResBlocks: 1, Groups: 4}, be, 1); err == nil {
		t.Error("New accepted image size 30 for 3 levels")
	}
}

func TestDefaultConfigSize(t *testing.T) {
	m, err := New(DefaultConfig(), nn.CPU{}, 1)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("default model: %d parameters", m.NumParams())
	if m.NumParams() < 100_000 || m.NumParams() > 1_000_000 {
		t.Errorf("default model has %d parameters, want a small U-Net (0.1–1 M)", m.NumParams())
	}
}
