package unet

import (
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/ddpm-go/ddpm/ddpm/nn"
)

func weightsOf(m *Model) []float32 {
	w := make([]float32, m.NumParams())
	m.Backend.Download(w, m.Weights)
	return w
}

func TestMix(t *testing.T) {
	a := randomModel(t, []int{1, 2, 2})
	b, err := New(a.Config, nn.CPU{}, 9)
	if err != nil {
		t.Fatal(err)
	}
	wa, wb := weightsOf(a), weightsOf(b)
	for _, tc := range []struct {
		w    float64
		want func(x, y float32) float32
	}{
		{0, func(x, y float32) float32 { return x }},
		{1, func(x, y float32) float32 { return y }},
		{0.25, func(x, y float32) float32 { return float32(0.75*float64(x) + 0.25*float64(y)) }},
	} {
		m, err := Mix(a, b, tc.w)
		if err != nil {
			t.Fatalf("Mix(%v): %v", tc.w, err)
		}
		got := weightsOf(m)
		for i := range got {
			if want := tc.want(wa[i], wb[i]); got[i] != want {
				t.Fatalf("Mix(%v): weight %d is %v, want %v", tc.w, i, got[i], want)
			}
		}
	}
	if !slices.Equal(weightsOf(a), wa) || !slices.Equal(weightsOf(b), wb) {
		t.Error("Mix changed its inputs")
	}
	// The ends are the networks themselves, not just their weights.
	m, _ := Mix(a, b, 1)
	if d := maxRelDiff(predict(t, b), predict(t, m)); d != 0 {
		t.Errorf("Mix(a, b, 1) predicts differently from b: max relative difference %g", d)
	}
}

func TestMixRefuses(t *testing.T) {
	a := randomModel(t, []int{1, 2, 2})
	wide := randomModel(t, []int{1, 2, 4})
	for _, tc := range []struct {
		b    *Model
		w    float64
		want string
	}{
		{a, -0.1, "outside [0, 1]"},
		{a, 1.5, "outside [0, 1]"},
		{a, math.NaN(), "outside [0, 1]"},
		{wide, 0.5, "the configs differ"},
	} {
		_, err := Mix(a, tc.b, tc.w)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Mix(w = %v): error %v, want one containing %q", tc.w, err, tc.want)
		}
	}
}
