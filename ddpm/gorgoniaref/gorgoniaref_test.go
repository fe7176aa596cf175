package gorgoniaref

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/ddpm-go/ddpm/ddpm/nn"
	"github.com/ddpm-go/ddpm/ddpm/unet"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// tinyConfig exercises every part of the network (two levels, a channel
// change with a 1×1 skip, strided downsampling, upsampling, attention, labels)
// at a size float64 finite differences can cover.
func tinyConfig() unet.Config {
	return unet.Config{ImageSize: 8, InChannels: 1, Channels: 4, Mults: []int{1, 2}, NumResBlocks: 1,
		Attention: true, Groups: 2, NumClasses: 3}
}

type fixture struct {
	model  *unet.Model
	probe  *Probe
	x, w   []float32
	ts     []int
	labels []int
}

// scaledConfig is tinyConfig with the embedding's scale in each residual block.
func scaledConfig() unet.Config {
	cfg := tinyConfig()
	cfg.EmbScale = true
	return cfg
}

// forConfigs runs test on tinyConfig and scaledConfig.
func forConfigs(t *testing.T, test func(t *testing.T, cfg unet.Config)) {
	for _, cfg := range []unet.Config{tinyConfig(), scaledConfig()} {
		t.Run(fmt.Sprintf("emb_scale=%v", cfg.EmbScale), func(t *testing.T) { test(t, cfg) })
	}
}

func newFixture(t *testing.T, cfg unet.Config) *fixture {
	t.Helper()
	m, err := unet.New(cfg, nn.CPU{}, 1)
	if err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(11, 12))
	// Random weights everywhere (GroupNorm scales near 1) so no gradient is trivially zero.
	for _, p := range m.Params {
		for i := range p.W.Data {
			p.W.Data[i] = float32(r.NormFloat64() * 0.4)
		}
	}
	const n = 2
	f := &fixture{model: m, ts: []int{3, 812}, labels: []int{2, 3}}
	f.x = make([]float32, n*cfg.Pixels())
	f.w = make([]float32, n*cfg.Pixels())
	for i := range f.x {
		f.x[i] = float32(r.NormFloat64())
		f.w[i] = float32(r.NormFloat64())
	}
	net, err := Build(cfg, n, tensor.Float64)
	if err != nil {
		t.Fatal(err)
	}
	if f.probe, err = NewProbe(net); err != nil {
		t.Fatal(err)
	}
	if err := net.SetWeights(m.Weights.Data); err != nil {
		t.Fatal(err)
	}
	if err := net.SetInputs(f.x, f.ts, f.labels); err != nil {
		t.Fatal(err)
	}
	if err := f.probe.SetW(f.w); err != nil {
		t.Fatal(err)
	}
	if err := f.probe.Run(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.probe.Close() })
	return f
}

// The oracle is only an oracle where finite differences confirm it: check
// gorgonia's symbolic gradients of the reference graph against float64
// central differences, for every parameter tensor.
func TestReferenceGradientsMatchFiniteDifferences(t *testing.T) {
	forConfigs(t, testReferenceGradients)
}

func testReferenceGradients(t *testing.T, cfg unet.Config) {
	f := newFixture(t, cfg)
	net := f.probe.Net
	grads := make([][]float64, len(net.Params))
	for i := range net.Params {
		g, err := f.probe.Gradient(i)
		if err != nil {
			t.Fatal(err)
		}
		grads[i] = g
	}
	r := rand.New(rand.NewPCG(5, 5))
	flat := append([]float32(nil), f.model.Weights.Data...)
	off := 0
	for pi, p := range f.model.Params {
		n := len(p.W.Data)
		for s := 0; s < 3; s++ {
			j := r.IntN(n)
			// Perturb in float64 through a float64 copy of the weights.
			eval := func(delta float64) float64 {
				w64 := make([]float64, len(flat))
				for i, v := range flat {
					w64[i] = float64(v)
				}
				w64[off+j] += delta
				if err := setWeights64(net, w64); err != nil {
					t.Fatal(err)
				}
				if err := f.probe.Run(); err != nil {
					t.Fatal(err)
				}
				v, err := f.probe.Value()
				if err != nil {
					t.Fatal(err)
				}
				return v
			}
			const h = 1e-5
			fd := (eval(h) - eval(-h)) / (2 * h)
			got := grads[pi][j]
			if math.Abs(got-fd) > 1e-6*math.Max(1, math.Abs(fd)) {
				t.Errorf("%s[%d]: gorgonia gradient %.10g, finite differences %.10g", p.Name, j, got, fd)
			}
		}
		off += n
	}
}

// setWeights64 is SetWeights without the float32 rounding.
func setWeights64(net *Net, flat []float64) error {
	off := 0
	for _, p := range net.Params {
		n := p.Shape().TotalSize()
		if err := letFloat64(p, flat[off:off+n]); err != nil {
			return err
		}
		off += n
	}
	return nil
}

func relErr(got []float32, want []float64) float64 {
	var num, den float64
	for i := range got {
		d := float64(got[i]) - want[i]
		num += d * d
		den += want[i] * want[i]
	}
	return math.Sqrt(num / den)
}

// Our float32 forward pass and every parameter gradient agree with the
// gorgonia graph within 1e-4 relative (norm of the difference over the norm
// of the reference, per tensor).
func TestUNetMatchesGorgonia(t *testing.T) { forConfigs(t, testUNetMatches) }

func testUNetMatches(t *testing.T, cfg unet.Config) {
	f := newFixture(t, cfg)
	m := f.model
	be := m.Backend
	x := be.New(2, 1, 8, 8)
	copy(x.Data, f.x)
	out, err := m.Forward(x, f.ts, f.labels)
	if err != nil {
		t.Fatal(err)
	}
	ref, err := f.probe.Output()
	if err != nil {
		t.Fatal(err)
	}
	if e := relErr(out.Data, ref); e > 1e-5 {
		t.Errorf("forward output rel err %.3g vs gorgonia", e)
	} else {
		t.Logf("forward output rel err %.3g", e)
	}
	dout := be.New(out.Shape...)
	copy(dout.Data, f.w)
	m.ZeroGrad()
	m.Backward(dout)
	worst := 0.0
	for i, p := range m.Params {
		g, err := f.probe.Gradient(i)
		if err != nil {
			t.Fatal(err)
		}
		e := relErr(p.G.Data, g)
		worst = math.Max(worst, e)
		if e > 1e-4 {
			t.Errorf("%s: gradient rel err %.3g vs gorgonia", p.Name, e)
		}
	}
	t.Logf("worst parameter-gradient rel err %.3g over %d tensors", worst, len(m.Params))
}

// The fast graph (gorgonia's own stride-1 Conv2d) computes the same forward
// pass as ours, so benchmarking it compares like with like.
func TestStockConvForwardMatches(t *testing.T) {
	cfg := unet.DefaultConfig()
	m, _ := unet.New(cfg, nn.CPU{}, 4)
	const n = 2
	net, err := Build(cfg, n, tensor.Float32, StockConv())
	if err != nil {
		t.Fatal(err)
	}
	if err := net.SetWeights(m.Weights.Data); err != nil {
		t.Fatal(err)
	}
	x := make([]float32, n*cfg.Pixels())
	r := rand.New(rand.NewPCG(1, 2))
	for i := range x {
		x[i] = float32(r.NormFloat64())
	}
	ts, labels := []int{10, 900}, []int{4, 10}
	if err := net.SetInputs(x, ts, labels); err != nil {
		t.Fatal(err)
	}
	vm := G.NewTapeMachine(net.Graph)
	defer vm.Close()
	if err := vm.RunAll(); err != nil {
		t.Fatal(err)
	}
	ref, err := Float64s(net.Out.Value())
	if err != nil {
		t.Fatal(err)
	}
	xt := m.Backend.New(n, 1, 32, 32)
	copy(xt.Data, x)
	out, err := m.Forward(xt, ts, labels)
	if err != nil {
		t.Fatal(err)
	}
	if e := relErr(out.Data, ref); e > 1e-5 {
		t.Errorf("stock-conv graph output rel err %.3g vs ours", e)
	}
}
