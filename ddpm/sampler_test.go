package ddpm

import (
	"math"
	"testing"
)

func randVec(rng *RNG, n int) []float32 {
	v := make([]float32, n)
	rng.Normal(v)
	return v
}

// Algorithm 2 of Ho et al. with z = 0.
func TestDDPMStepMatchesClosedForm(t *testing.T) {
	s := NewLinear(1000, 1e-4, 0.02)
	rng := NewRNG(7)
	x, eps := randVec(rng, 64), randVec(rng, 64)
	for _, step := range []int{0} { // the last step adds no noise
		d := &DDPM{S: s, NoClip: true}
		i := s.T() - 1 - step
		out := make([]float32, len(x))
		d.Step(i, out, x, eps, nil, rng)
		for j := range x {
			want := (float64(x[j]) - s.Beta[step]/math.Sqrt(1-s.AlphaBar[step])*float64(eps[j])) / math.Sqrt(s.Alpha[step])
			if !relClose(float64(out[j]), want, 1e-5) {
				t.Fatalf("t=%d j=%d: got %v want %v", step, j, out[j], want)
			}
		}
	}
	// At t > 0 the noise is σ_t·z with σ_t² = β_t: subtracting the mean leaves variance β_t.
	for _, posterior := range []bool{false, true} {
		const n = 100000
		step := 500
		d := &DDPM{S: s, NoClip: true, PosteriorSigma: posterior}
		x, eps := randVec(rng, n), randVec(rng, n)
		out := make([]float32, n)
		d.Step(s.T()-1-step, out, x, eps, nil, rng)
		var sq float64
		for j := range x {
			mean := (float64(x[j]) - s.Beta[step]/math.Sqrt(1-s.AlphaBar[step])*float64(eps[j])) / math.Sqrt(s.Alpha[step])
			sq += (float64(out[j]) - mean) * (float64(out[j]) - mean)
		}
		want := s.Beta[step]
		if posterior {
			want = s.PosteriorVariance(step)
		}
		if got := sq / n; math.Abs(got-want) > 0.03*want {
			t.Errorf("posterior=%v: noise variance %g, want %g", posterior, got, want)
		}
	}
}

func TestDDIMStepMatchesClosedForm(t *testing.T) {
	s := NewLinear(1000, 1e-4, 0.02)
	rng := NewRNG(3)
	d, err := NewDDIM(s, 50, 0)
	if err != nil {
		t.Fatal(err)
	}
	d.NoClip = true
	ts := d.Timesteps()
	if ts[0] != 999 || ts[len(ts)-1] != 19 || len(ts) != 50 {
		t.Fatalf("timesteps %v", ts)
	}
	x, eps := randVec(rng, 32), randVec(rng, 32)
	for _, i := range []int{0, 10, 49} {
		out := make([]float32, len(x))
		x0 := make([]float32, len(x))
		d.Step(i, out, x, eps, x0, rng)
		ab := s.AlphaBar[ts[i]]
		abPrev := 1.0
		if i < 49 {
			abPrev = s.AlphaBar[ts[i+1]]
		}
		for j := range x {
			x0w := (float64(x[j]) - math.Sqrt(1-ab)*float64(eps[j])) / math.Sqrt(ab)
			want := math.Sqrt(abPrev)*x0w + math.Sqrt(1-abPrev)*float64(eps[j])
			if !relClose(float64(x0[j]), x0w, 1e-5) || math.Abs(float64(out[j])-want) > 1e-4*math.Max(1, math.Abs(want)) {
				t.Fatalf("i=%d j=%d: x0 %v (want %v), out %v (want %v)", i, j, x0[j], x0w, out[j], want)
			}
		}
	}
	// The last step with η = 0 returns x̂_0 exactly (ᾱ of step −1 is 1).
	out, x0 := make([]float32, len(x)), make([]float32, len(x))
	d.Step(49, out, x, eps, x0, rng)
	for j := range out {
		if out[j] != x0[j] {
			t.Fatalf("last DDIM step %v != x̂0 %v", out[j], x0[j])
		}
	}
}

func TestDDIMAllStepsEqualsDDPMTimesteps(t *testing.T) {
	s := NewLinear(1000, 1e-4, 0.02)
	d, _ := NewDDIM(s, 1000, 1)
	p := &DDPM{S: s}
	for i, v := range d.Timesteps() {
		if p.Timesteps()[i] != v {
			t.Fatalf("timestep %d: ddim %d ddpm %d", i, v, p.Timesteps()[i])
		}
	}
	// With η = 1 and S = T, DDIM's σ equals the DDPM posterior σ (β̃).
	rng1, rng2 := NewRNG(5), NewRNG(5)
	x, eps := randVec(NewRNG(1), 16), randVec(NewRNG(2), 16)
	a, b := make([]float32, 16), make([]float32, 16)
	d.NoClip = true
	d.Step(300, a, x, eps, nil, rng1)
	(&DDPM{S: s, PosteriorSigma: true, NoClip: true}).Step(300, b, x, eps, nil, rng2)
	for j := range a {
		if math.Abs(float64(a[j]-b[j])) > 1e-5 {
			t.Fatalf("DDIM(η=1, S=T) %v != DDPM(β̃) %v", a[j], b[j])
		}
	}
}

func TestNewDDIMRejects(t *testing.T) {
	s := NewLinear(1000, 1e-4, 0.02)
	for _, tc := range []struct {
		steps int
		eta   float64
	}{{0, 0}, {1001, 0}, {50, -1}, {50, math.NaN()}} {
		if _, err := NewDDIM(s, tc.steps, tc.eta); err == nil {
			t.Errorf("NewDDIM(%d, %v): no error", tc.steps, tc.eta)
		}
	}
}

// fakeDenoiser predicts a fixed function of x, t and label, so runs can be compared.
type fakeDenoiser struct{ calls, images int }

func (f *fakeDenoiser) PredictNoise(eps, x []float32, n, t int, labels []int) error {
	f.calls++
	f.images += n
	size := len(x) / n
	for i := range x {
		l := 0
		if labels != nil {
			l = labels[i/size]
		}
		eps[i] = 0.9*x[i] + 0.01*float32(l) + 0.0001*float32(t)
	}
	return nil
}

func runSampler(t *testing.T, s Sampler, seed uint64, labels []int, scale float64) []float32 {
	t.Helper()
	model := &Guided{Model: &fakeDenoiser{}, Scale: scale, NullLabel: 10}
	p, err := NewProcess(model, s, 2, 16, labels, NewRNG(seed))
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Run(nil); err != nil {
		t.Fatal(err)
	}
	return p.X
}

func equalVec(a, b []float32) bool {
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return len(a) == len(b)
}

func TestSamplersReproducible(t *testing.T) {
	s := NewLinear(1000, 1e-4, 0.02)
	labels := []int{3, 7}
	ddim := func(eta float64) Sampler { d, _ := NewDDIM(s, 20, eta); return d }
	// Same seed, same result: DDPM (stochastic) and DDIM η=0 and η=1.
	for name, mk := range map[string]func() Sampler{
		"ddpm":        func() Sampler { return &DDPM{S: s} },
		"ddim η=0":    func() Sampler { return ddim(0) },
		"ddim η=1":    func() Sampler { return ddim(1) },
		"dpmpp2m-sde": func() Sampler { d, _ := NewSampler("dpmpp2m-sde", s, 20, 0); return d },
	} {
		a := runSampler(t, mk(), 11, labels, 2)
		b := runSampler(t, mk(), 11, labels, 2)
		if !equalVec(a, b) {
			t.Errorf("%s: same seed gave different samples", name)
		}
		c := runSampler(t, mk(), 12, labels, 2)
		if equalVec(a, c) {
			t.Errorf("%s: different seeds gave the same samples", name)
		}
	}
	// DDIM with η = 0 and the DPM-Solver++ ODE samplers are deterministic
	// given x_T: the RNG is used only for x_T.
	for _, kind := range []string{"ddim", "dpmpp2m", "dpmpp3m"} {
		d, _ := NewSampler(kind, s, 20, 0)
		if !equalVec(runFrom(t, d, 1), runFrom(t, d, 2)) {
			t.Errorf("%s depends on the RNG after x_T", kind)
		}
	}
}

// runFrom runs d on a fixed x_T, with noiseSeed for any later noise.
func runFrom(t *testing.T, d Sampler, noiseSeed uint64) []float32 {
	t.Helper()
	p := &Process{Model: &fakeDenoiser{}, Sampler: d, N: 2, X: randVec(NewRNG(1), 32),
		X0: make([]float32, 32), RNG: NewRNG(noiseSeed), eps: make([]float32, 32)}
	if err := p.Run(nil); err != nil {
		t.Fatal(err)
	}
	return p.X
}

func TestGuidance(t *testing.T) {
	f := &fakeDenoiser{}
	g := &Guided{Model: f, Scale: 3, NullLabel: 10}
	x := randVec(NewRNG(1), 8)
	eps := make([]float32, 8)
	if err := g.PredictNoise(eps, x, 2, 5, []int{1, 2}); err != nil {
		t.Fatal(err)
	}
	cond, unc := make([]float32, 8), make([]float32, 8)
	f.PredictNoise(cond, x, 2, 5, []int{1, 2})
	f.PredictNoise(unc, x, 2, 5, []int{10, 10})
	for i := range eps {
		want := unc[i] + 3*(cond[i]-unc[i])
		if math.Abs(float64(eps[i]-want)) > 1e-6 {
			t.Fatalf("guided eps[%d] = %v, want %v", i, eps[i], want)
		}
	}
	f.calls = 0
	(&Guided{Model: f, Scale: 1, NullLabel: 10}).PredictNoise(eps, x, 2, 5, []int{1, 2})
	if f.calls != 1 {
		t.Errorf("scale 1 made %d network calls, want 1", f.calls)
	}
	// A guidance interval: guided inside [From, To], plain conditional
	// (one call) outside.
	in := &Guided{Model: f, Scale: 3, NullLabel: 10, From: 3, To: 5}
	for _, tc := range []struct {
		t      int
		guided bool
	}{{2, false}, {3, true}, {5, true}, {6, false}} {
		f.images = 0
		in.PredictNoise(eps, x, 2, tc.t, []int{1, 2})
		images := f.images
		f.PredictNoise(cond, x, 2, tc.t, []int{1, 2})
		f.PredictNoise(unc, x, 2, tc.t, []int{10, 10})
		for i := range eps {
			want := cond[i]
			if tc.guided {
				want = unc[i] + 3*(cond[i]-unc[i])
			}
			if math.Abs(float64(eps[i]-want)) > 1e-6 {
				t.Fatalf("interval [3, 5], t=%d: eps[%d] = %v, want %v", tc.t, i, eps[i], want)
			}
		}
		if want := map[bool]int{false: 2, true: 4}[tc.guided]; images != want {
			t.Errorf("interval [3, 5], t=%d: the network saw %d images, want %d", tc.t, images, want)
		}
	}
	if _, err := NewProcess(f, &DDPM{S: NewLinear(10, 1e-4, 0.02)}, 2, 4, []int{1}, NewRNG(1)); err == nil {
		t.Error("NewProcess accepted 1 label for 2 images")
	}
}

// The RNG must give the same stream natively and in WebAssembly; these values
// were printed natively (linux/amd64) and are checked under GOOS=js too.
func TestRNGStreamIsPortable(t *testing.T) {
	v := make([]float32, 4)
	NewRNG(42).Normal(v)
	want := []float32{-0.7440932, -0.72372115, 1.1146508, 1.1589725}
	for i := range v {
		if math.Abs(float64(v[i]-want[i])) > 1e-6 {
			t.Fatalf("NewRNG(42) normals = %v, want %v", v, want)
		}
	}
}

// A batch computed in two halves with windowed RNGs equals the whole batch.
func TestSplitBatchMatchesWhole(t *testing.T) {
	s := NewLinear(1000, 1e-4, 0.02)
	const n, size = 4, 8
	labels := []int{1, 2, 3, 4}
	for _, mk := range []func() Sampler{
		func() Sampler { return &DDPM{S: s} },
		func() Sampler { d, _ := NewDDIM(s, 10, 1); return d },
		func() Sampler { d, _ := NewSampler("dpmpp2m-sde", s, 10, 0); return d },
	} {
		whole, err := Sample(&fakeDenoiser{}, mk(), n, size, labels, NewRNG(8))
		if err != nil {
			t.Fatal(err)
		}
		for _, half := range [][2]int{{0, 3}, {3, 4}} {
			rng := NewRNG(8)
			rng.Window(n*size, half[0]*size)
			part, err := Sample(&fakeDenoiser{}, mk(), half[1]-half[0], size, labels[half[0]:half[1]], rng)
			if err != nil {
				t.Fatal(err)
			}
			if !equalVec(part, whole[half[0]*size:half[1]*size]) {
				t.Fatalf("images %v computed apart differ from the whole batch", half)
			}
		}
	}
}

// With clipping, DDIM moves along the clipped prediction: ε is re-derived
// from the clipped x̂_0, and nothing changes when no value needs clipping.
func TestDDIMClippedStep(t *testing.T) {
	s := NewLinear(1000, 1e-4, 0.02)
	d, _ := NewDDIM(s, 10, 0)
	ts := d.Timesteps()
	i := 3
	ab, abPrev := s.AlphaBar[ts[i]], s.AlphaBar[ts[i+1]]
	x := []float32{0.1, -0.2, 3, -3}
	eps := []float32{0.05, 0.1, -0.5, 0.5}
	out, x0 := make([]float32, 4), make([]float32, 4)
	d.Step(i, out, x, eps, x0, nil)
	for j := range x {
		raw := (float64(x[j]) - math.Sqrt(1-ab)*float64(eps[j])) / math.Sqrt(ab)
		c := math.Max(-1, math.Min(1, raw))
		e := (float64(x[j]) - math.Sqrt(ab)*c) / math.Sqrt(1-ab)
		want := math.Sqrt(abPrev)*c + math.Sqrt(1-abPrev)*e
		if math.Abs(float64(out[j])-want) > 1e-5 || float64(x0[j]) != float64(float32(c)) {
			t.Errorf("j=%d: got %v (x̂0 %v), want %v (x̂0 %v)", j, out[j], x0[j], want, c)
		}
	}
}
