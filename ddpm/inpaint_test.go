package ddpm

import (
	"math"
	"slices"
	"testing"
)

// q(x_t | x_0) has mean √ᾱ_t·x_0 and variance 1−ᾱ_t.
func TestNoiseToMoments(t *testing.T) {
	s := NewLinear(1000, 1e-4, 0.02)
	const n = 200000
	x0 := make([]float32, n)
	for i := range x0 {
		x0[i] = 0.7
	}
	for _, paperT := range []int{1, 300, 1000} {
		xt := make([]float32, n)
		s.NoiseTo(xt, x0, paperT, NewRNG(uint64(paperT)))
		mean, sd := moments(xt)
		ab := s.AlphaBar[paperT-1]
		wantMean, wantVar := math.Sqrt(ab)*0.7, 1-ab
		if math.Abs(mean-wantMean) > 4*math.Sqrt(wantVar/n) || math.Abs(sd*sd-wantVar) > 0.02*wantVar {
			t.Errorf("t=%d: mean %.5f var %.6g, want %.5f and %.6g", paperT, mean, sd*sd, wantMean, wantVar)
		}
	}
}

// Starting lower: the samplers visit at most from timesteps, the first
// being from−1; from = T is the usual start.
func TestSamplerFrom(t *testing.T) {
	s := NewLinear(1000, 1e-4, 0.02)
	for _, kind := range Samplers {
		full, _ := NewSampler(kind, s, 20, 0)
		same, _ := NewSamplerFrom(kind, s, 20, 0, 1000)
		if !slices.Equal(full.Timesteps(), same.Timesteps()) {
			t.Errorf("%s: from T differs from the usual start", kind)
		}
		low, err := NewSamplerFrom(kind, s, 20, 0, 300)
		if err != nil {
			t.Fatal(err)
		}
		ts := low.Timesteps()
		if ts[0] != 299 || ts[len(ts)-1] < 0 || (kind != "ddpm" && len(ts) != 20) || (kind == "ddpm" && len(ts) != 300) {
			t.Errorf("%s from 300: %d timesteps %v…%v", kind, len(ts), ts[0], ts[len(ts)-1])
		}
		for i := 1; i < len(ts); i++ {
			if ts[i] >= ts[i-1] {
				t.Fatalf("%s from 300: timesteps not decreasing: %v", kind, ts)
			}
		}
		if few, _ := NewSamplerFrom(kind, s, 20, 0, 5); len(few.Timesteps()) != 5 {
			t.Errorf("%s from 5 with 20 steps: %d timesteps, want 5", kind, len(few.Timesteps()))
		}
	}
	if _, err := NewSamplerFrom("ddim", s, 10, 0, 0); err == nil {
		t.Error("from 0 accepted")
	}
}

// SDEdit with the Gaussian oracle: data noised to t and denoised back from
// there has the data's distribution again. (A step every 10 timesteps: the
// last step's x̂_0 shrinks the spread by about (1−ᾱ)/2s² at the last
// timestep, 6% for 20 steps from 600.)
func TestSDEditRecoversGaussianData(t *testing.T) {
	sched := NewLinear(1000, 1e-4, 0.02)
	g := gaussianOracle{sched: sched, mu: 0.1, s: 0.3}
	const n = 20000
	x0 := make([]float32, n)
	NewRNG(5).Normal(x0)
	for i := range x0 {
		x0[i] = float32(g.mu + g.s*float64(x0[i]))
	}
	for _, from := range []int{100, 600} {
		smp, _ := NewSamplerFrom("dpmpp2m", sched, from/10, 0, from)
		setNoClip(smp)
		xt := make([]float32, n)
		sched.NoiseTo(xt, x0, from, NewRNG(6))
		p, err := NewProcessFrom(g, smp, 1, xt, nil, NewRNG(7))
		if err != nil {
			t.Fatal(err)
		}
		if err := p.Run(nil); err != nil {
			t.Fatal(err)
		}
		mean, sd := moments(p.X)
		if math.Abs(mean-g.mu) > 0.01 || math.Abs(sd-g.s) > 0.02*g.s {
			t.Errorf("from t=%d: mean %.4f sd %.4f, want %.2f and %.2f", from, mean, sd, g.mu, g.s)
		}
	}
}

func moments(x []float32) (mean, sd float64) {
	for _, v := range x {
		mean += float64(v)
	}
	mean /= float64(len(x))
	for _, v := range x {
		sd += (float64(v) - mean) * (float64(v) - mean)
	}
	return mean, math.Sqrt(sd / float64(len(x)))
}

// Inpainting ends with the known pixels exactly as given, leaves the others
// to the sampler, and while it runs keeps the known pixels at their noised
// values (the known image's scale √ᾱ_t, plus noise of variance 1−ᾱ_t).
func TestInpaintKeepsKnownPixels(t *testing.T) {
	sched := NewLinear(1000, 1e-4, 0.02)
	const n = 4096
	known, mask := make([]float32, n), make([]float32, n)
	for i := range known {
		known[i] = 0.8
		if i < n/2 {
			mask[i] = 1 // the first half is known
		}
	}
	for _, kind := range []string{"dpmpp2m", "ddim", "ddpm"} {
		inner, _ := NewSampler(kind, sched, 20, 0)
		smp := &Inpaint{Sampler: inner, S: sched, Known: known, Mask: mask}
		p, err := NewProcess(&fakeDenoiser{}, smp, 1, n, nil, NewRNG(3))
		if err != nil {
			t.Fatal(err)
		}
		checked := false
		for !p.Done() {
			if err := p.Step(); err != nil {
				t.Fatal(err)
			}
			if p.Index() == len(smp.Timesteps())/2 {
				ab := sched.AlphaBar[smp.Timesteps()[p.Index()]]
				mean, sd := moments(p.X[:n/2])
				if math.Abs(mean-math.Sqrt(ab)*0.8) > 0.05 || math.Abs(sd-math.Sqrt(1-ab)) > 0.05 {
					t.Errorf("%s midway: known pixels have mean %.3f sd %.3f, want %.3f and %.3f", kind, mean, sd, math.Sqrt(ab)*0.8, math.Sqrt(1-ab))
				}
				checked = true
			}
		}
		if !checked {
			t.Fatalf("%s: never checked midway", kind)
		}
		for j := 0; j < n/2; j++ {
			if p.X[j] != known[j] {
				t.Fatalf("%s: known pixel %d ends at %v, want %v", kind, j, p.X[j], known[j])
			}
		}
		if mean, _ := moments(p.X[n/2:]); math.Abs(mean-0.8) < 0.1 {
			t.Errorf("%s: the unknown half came out like the known one (mean %.3f)", kind, mean)
		}
	}
}
