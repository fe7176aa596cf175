package ddpm

import (
	"math"
	"testing"
)

func relClose(got, want, tol float64) bool {
	return math.Abs(got-want) <= tol*math.Abs(want)
}

func TestScheduleReferenceValues(t *testing.T) {
	lin := NewLinear(1000, 1e-4, 0.02)
	cos := NewCosine(1000)
	tests := []struct {
		name      string
		got, want float64
	}{
		{"linear ᾱ[0]", lin.AlphaBar[0], 0.9999},
		{"linear ᾱ[499]", lin.AlphaBar[499], 0.0785872429},
		{"linear ᾱ[999]", lin.AlphaBar[999], 4.0358298e-05},
		{"linear √ᾱ[999]", math.Sqrt(lin.AlphaBar[999]), 0.0063528181},
		{"linear β̃[1]", lin.PosteriorVariance(1), 5.4531877e-05},
		{"linear β̃[999]", lin.PosteriorVariance(999), 0.0199999835},
		{"linear β[999]", lin.Beta[999], 0.02},
		{"cosine β[0]", cos.Beta[0], 4.1284225e-05},
		{"cosine β[999]", cos.Beta[999], 0.999},
	}
	for _, tc := range tests {
		if !relClose(tc.got, tc.want, 1e-6) {
			t.Errorf("%s = %.10g, want %.10g", tc.name, tc.got, tc.want)
		}
	}
	if lin.PosteriorVariance(0) != 0 {
		t.Errorf("β̃[0] = %g, want 0", lin.PosteriorVariance(0))
	}
}

func TestNewScheduleRejects(t *testing.T) {
	for _, tc := range []struct {
		kind string
		T    int
	}{{"quadratic", 1000}, {"linear", 0}} {
		if _, err := NewSchedule(tc.kind, tc.T); err == nil {
			t.Errorf("NewSchedule(%q, %d): no error", tc.kind, tc.T)
		}
	}
}

func TestQSampleStatistics(t *testing.T) {
	s := NewLinear(1000, 1e-4, 0.02)
	rng := NewRNG(1)
	const n = 200000
	x0 := make([]float32, n)
	for i := range x0 {
		x0[i] = 0.5
	}
	eps := make([]float32, n)
	for _, step := range []int{0, 250, 999} {
		rng.Normal(eps)
		xt := make([]float32, n)
		s.QSample(xt, x0, eps, step)
		var mean, sq float64
		for _, v := range xt {
			mean += float64(v)
		}
		mean /= n
		for _, v := range xt {
			sq += (float64(v) - mean) * (float64(v) - mean)
		}
		variance := sq / n
		wantMean := 0.5 * math.Sqrt(s.AlphaBar[step])
		wantVar := 1 - s.AlphaBar[step]
		// Standard errors at n=2e5 are ≈ 0.0023·σ for the mean, ≈ 0.3% for the variance.
		if math.Abs(mean-wantMean) > 0.01*math.Max(math.Sqrt(wantVar), 0.01) {
			t.Errorf("t=%d: mean %.5f, want %.5f", step, mean, wantMean)
		}
		if math.Abs(variance-wantVar) > 0.02*wantVar {
			t.Errorf("t=%d: variance %.6g, want %.6g", step, variance, wantVar)
		}
	}
}

func TestNoiseLossAndGradient(t *testing.T) {
	pred := []float32{1, 2, 3, 4}
	eps := []float32{1, 1, 1, 1}
	grad := make([]float32, 4)
	loss := NoiseLoss(pred, eps, grad)
	if loss != (0+1+4+9)/4.0 {
		t.Errorf("loss %v, want 3.5", loss)
	}
	for i, g := range grad {
		if want := float32(2*(pred[i]-eps[i])) / 4; g != want {
			t.Errorf("grad[%d] = %v, want %v", i, g, want)
		}
	}
}
