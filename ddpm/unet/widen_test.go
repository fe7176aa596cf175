package unet

import (
	"math"
	"strings"
	"testing"

	"github.com/ddpm-go/ddpm/ddpm"
	"github.com/ddpm-go/ddpm/ddpm/nn"
)

// randomModel is a default-shaped model whose every parameter, GroupNorm
// scales and shifts included, is random, so a widening that mixes up
// channels shows in the output.
func randomModel(t *testing.T, mults []int) *Model {
	t.Helper()
	cfg := DefaultConfig()
	cfg.Mults = mults
	m, err := New(cfg, nn.CPU{}, 3)
	if err != nil {
		t.Fatal(err)
	}
	w := make([]float32, m.NumParams())
	m.Backend.Download(w, m.Weights)
	noise := make([]float32, len(w))
	ddpm.NewRNG(4).Normal(noise)
	for i := range w {
		w[i] += 0.2 * noise[i]
	}
	m.Backend.Upload(m.Weights, w)
	return m
}

func predict(t *testing.T, m *Model) []float32 {
	t.Helper()
	const n = 4
	x := make([]float32, n*m.Config.Pixels())
	ddpm.NewRNG(5).Normal(x)
	eps := make([]float32, len(x))
	if err := m.PredictNoise(eps, x, n, 300, []int{0, 3, 7, m.Config.NullLabel()}); err != nil {
		t.Fatal(err)
	}
	return eps
}

// maxRelDiff is max|a−b| over max|a|.
func maxRelDiff(a, b []float32) float64 {
	var d, s float64
	for i := range a {
		d = math.Max(d, math.Abs(float64(a[i]-b[i])))
		s = math.Max(s, math.Abs(float64(a[i])))
	}
	return d / s
}

func TestWidenKeepsTheFunction(t *testing.T) {
	for _, tc := range []struct {
		from, to []int
		tol      float64
	}{
		// Every level twice as wide: every GroupNorm group is two copies
		// of an old one, so the output is the same up to rounding.
		{[]int{1, 2, 2}, []int{2, 4, 4}, 1e-5},
		{[]int{1, 2, 2}, []int{3, 6, 6}, 1e-5},
		// Only the lowest level wider: one GroupNorm (going up, over
		// [h, skip] at 16×16) mixes old groups, so the output moves a little.
		{[]int{1, 2, 2}, []int{1, 2, 4}, 0.5},
	} {
		m := randomModel(t, tc.from)
		cfg := m.Config
		cfg.Mults = tc.to
		w, err := Widen(m, cfg, 1)
		if err != nil {
			t.Fatal(err)
		}
		if w.NumParams() <= m.NumParams() {
			t.Fatalf("%v → %v: %d parameters, not more than %d", tc.from, tc.to, w.NumParams(), m.NumParams())
		}
		d := maxRelDiff(predict(t, m), predict(t, w))
		t.Logf("%v → %v: %d → %d parameters, output differs by %.2g (relative)", tc.from, tc.to, m.NumParams(), w.NumParams(), d)
		if d > tc.tol {
			t.Errorf("%v → %v: output differs by %.2g, want ≤ %g", tc.from, tc.to, d, tc.tol)
		}
	}
}

// Adding the embedding scale keeps the function exactly, and the scaled
// network widens like any other.
func TestAddEmbScaleKeepsTheFunction(t *testing.T) {
	m := randomModel(t, []int{1, 2, 2})
	s, err := AddEmbScale(m)
	if err != nil {
		t.Fatal(err)
	}
	if !s.Config.EmbScale || s.NumParams() <= m.NumParams() {
		t.Fatalf("got %s with %d parameters from %d", s.Config, s.NumParams(), m.NumParams())
	}
	if d := maxRelDiff(predict(t, m), predict(t, s)); d != 0 {
		t.Errorf("output differs by %.2g (relative), want 0", d)
	}
	if _, err := AddEmbScale(s); err == nil {
		t.Error("adding the scale twice: no error")
	}
	// Nonzero scales, so widening has something to get wrong.
	for _, p := range s.Params {
		if strings.Contains(p.Name, ".temb_scale.") {
			for i := range p.W.Data {
				p.W.Data[i] = 0.1 * float32(i%7-3)
			}
		}
	}
	cfg := s.Config
	cfg.Mults = []int{2, 4, 4}
	w, err := Widen(s, cfg, 1)
	if err != nil {
		t.Fatal(err)
	}
	if d := maxRelDiff(predict(t, s), predict(t, w)); d > 1e-5 {
		t.Errorf("widened scaled network: output differs by %.2g, want ≤ 1e-5", d)
	}
}

// The copies of a channel must not stay identical, or training could never
// tell them apart.
func TestWidenBreaksSymmetry(t *testing.T) {
	m := randomModel(t, []int{1, 2, 2})
	cfg := m.Config
	cfg.Mults = []int{1, 2, 4}
	w, err := Widen(m, cfg, 1)
	if err != nil {
		t.Fatal(err)
	}
	p := w.Param("mid.res.0.conv2.weight") // [64, 64, 3, 3]: input channels 2c and 2c+1 copy c
	v := make([]float32, p.W.Len())
	w.Backend.Download(v, p.W)
	same := 0
	for o := range 64 {
		for c := range 32 {
			for r := range 9 {
				if v[(o*64+2*c)*9+r] == v[(o*64+2*c+1)*9+r] {
					same++
				}
			}
		}
	}
	if same > 0 {
		t.Errorf("%d weights equal to their copy's", same)
	}
}

func TestWidenRefuses(t *testing.T) {
	for _, tc := range []struct {
		from, to []int
		edit     func(*Config)
		want     string
	}{
		{[]int{1, 2, 2}, []int{1, 2, 3}, nil, "not a whole multiple"},
		{[]int{1, 2, 2}, []int{1, 2}, nil, "2 channel mults for a network of 3 levels"},
		{[]int{1, 2, 2}, []int{1, 2, 2}, func(c *Config) { c.Groups = 4 }, "only widen"},
		{[]int{1, 2, 2}, []int{1, 2, 2}, func(c *Config) { c.Channels = 32 }, "only widen"},
		// Level 2's input grows to its output's width: the old block's 1×1
		// skip conv has no place in the new one.
		{[]int{1, 1, 2}, []int{1, 2, 2}, nil, "down.2.res.0 as wide at its input as at its output"},
	} {
		m := randomModel(t, tc.from)
		cfg := m.Config
		cfg.Mults = tc.to
		if tc.edit != nil {
			tc.edit(&cfg)
		}
		_, err := Widen(m, cfg, 1)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Widen %v to %s: error %v, want one containing %q", tc.from, cfg, err, tc.want)
		}
	}
}
