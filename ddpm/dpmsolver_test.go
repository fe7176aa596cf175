package ddpm

import (
	"math"
	"testing"
)

// gaussianOracle is the exact ε-predictor for data x_0 ~ N(mu, s²) per pixel:
// x_t ~ N(a·mu, a²s² + σ²) with a = √ᾱ_t, σ = √(1−ᾱ_t), and
// E[ε | x_t] = σ·(x_t − a·mu)/(a²s² + σ²).
type gaussianOracle struct {
	sched *Schedule
	mu, s float64
}

func (g gaussianOracle) PredictNoise(eps, x []float32, n, t int, labels []int) error {
	ab := g.sched.AlphaBar[t]
	a, sig := math.Sqrt(ab), math.Sqrt(1-ab)
	v := a*a*g.s*g.s + sig*sig
	for i := range eps {
		eps[i] = float32(sig * (float64(x[i]) - a*g.mu) / v)
	}
	return nil
}

// exact returns where the probability-flow ODE takes xT (at timestep T−1)
// at ᾱ = ab: for Gaussian data the standardised (x − a·mu)/√(a²s²+σ²) is
// constant along a trajectory.
func (g gaussianOracle) exact(xT []float32, ab float64) []float32 {
	sd := func(ab float64) float64 { return math.Sqrt(ab*g.s*g.s + 1 - ab) }
	abT := g.sched.AlphaBar[g.sched.T()-1]
	out := make([]float32, len(xT))
	for i, v := range xT {
		z := (float64(v) - math.Sqrt(abT)*g.mu) / sd(abT)
		out[i] = float32(math.Sqrt(ab)*g.mu + sd(ab)*z)
	}
	return out
}

// oracleErrors runs the sampler with the oracle from fixed noise and returns
// the RMS distance to the exact ODE solution at timestep mid (a timestep the
// sampler visits) and at the end (ᾱ = 1: the samples).
func oracleErrors(t *testing.T, g gaussianOracle, s Sampler, mid int) (atMid, final float64) {
	t.Helper()
	const n = 512
	xT := make([]float32, n)
	NewRNG(11).Normal(xT)
	p, err := NewProcess(g, s, 1, n, nil, NewRNG(11))
	if err != nil {
		t.Fatal(err)
	}
	rms := func(ab float64) float64 {
		var sq float64
		for i, v := range g.exact(xT, ab) {
			d := float64(p.X[i]) - float64(v)
			sq += d * d
		}
		return math.Sqrt(sq / n)
	}
	atMid = math.NaN()
	for !p.Done() {
		if p.Timestep() == mid {
			atMid = rms(g.sched.AlphaBar[mid])
		}
		if err := p.Step(); err != nil {
			t.Fatal(err)
		}
	}
	return atMid, rms(1)
}

// fittedOrder is the least-squares slope of −log2(error) against log2(steps).
func fittedOrder(steps []int, errs []float64) float64 {
	var sx, sy, sxx, sxy float64
	for i := range steps {
		x, y := math.Log2(float64(steps[i])), -math.Log2(errs[i])
		sx, sy, sxx, sxy = sx+x, sy+y, sxx+x*x, sxy+x*y
	}
	k := float64(len(steps))
	return (k*sxy - sx*sy) / (k*sxx - sx*sx)
}

// The solvers converge to the exact ODE solution at their order as the step
// count doubles: DDIM (first order) ≈ 1, DPM-Solver++ 2M ≥ 1.7, 3M ≥ 2 at
// timestep 99, which 10, 20, 40 and 80 trailing steps all visit. The last
// step, first order to ᾱ = 1 for all of them, adds an error of order 1−ᾱ
// at the last timestep, which the trailing spacing shrinks about 3× per
// doubling: it caps the final order near 1.5 (3M shows it).
func TestSamplerOrderOnGaussianData(t *testing.T) {
	sched := NewLinear(1000, 1e-4, 0.02)
	g := gaussianOracle{sched: sched, mu: 0.1, s: 0.3}
	steps := []int{10, 20, 40, 80}
	for _, c := range []struct {
		kind                     string
		minBefore, minFinal, max float64
	}{
		{"ddim", 0.8, 0.8, 1.3},
		{"dpmpp2m", 1.7, 1.7, 3.5},
		{"dpmpp3m", 2.0, 1.3, 4},
	} {
		var before, final []float64
		for _, n := range steps {
			s, err := NewSampler(c.kind, sched, n, 0)
			if err != nil {
				t.Fatal(err)
			}
			setNoClip(s)
			b, f := oracleErrors(t, g, s, 99)
			before, final = append(before, b), append(final, f)
		}
		ob, of := fittedOrder(steps, before), fittedOrder(steps, final)
		t.Logf("%-8s at %v steps: at t = 99 %.3g (order %.2f), final %.3g (order %.2f)", c.kind, steps, before, ob, final, of)
		if ob < c.minBefore || ob > c.max || of < c.minFinal || of > c.max {
			t.Errorf("%s: fitted orders %.2f at t = 99, %.2f final; want ≥ %.1f and ≥ %.1f, ≤ %.1f", c.kind, ob, of, c.minBefore, c.minFinal, c.max)
		}
	}
}

func setNoClip(s Sampler) {
	switch s := s.(type) {
	case *DDIM:
		s.NoClip = true
	case *DPMSolver:
		s.NoClip = true
	}
}

// Two steps of DPM-Solver++ 2M against the equations of Lu et al. (2022),
// written out here in float64: the first step is first order, the second
// uses the first one's x̂_0, and the last step returns x̂_0.
func TestDPMSolver2MStepsByHand(t *testing.T) {
	sched := NewLinear(1000, 1e-4, 0.02)
	d, err := NewDPMSolver(sched, 10, 2, false)
	if err != nil {
		t.Fatal(err)
	}
	ts := d.Timesteps()
	lam := func(t int) (l, a, s float64) {
		ab := sched.AlphaBar[t]
		return 0.5 * math.Log(ab/(1-ab)), math.Sqrt(ab), math.Sqrt(1 - ab)
	}
	xhat := func(x, e float64, t int) float64 {
		_, a, s := lam(t)
		return math.Max(-1, math.Min(1, (x-s*e)/a))
	}
	xa, ea := []float32{0.3, -1.2, 2.5}, []float32{0.4, -1.1, 1.5}
	xb, eb := []float32{-0.5, 0.9, 1.9}, []float32{-0.45, 0.7, 1.0}
	outA, outB, x0 := make([]float32, 3), make([]float32, 3), make([]float32, 3)
	d.Step(0, outA, xa, ea, nil, nil)
	d.Step(1, outB, xb, eb, x0, nil)
	l0, _, s0 := lam(ts[0])
	l1, a1, s1 := lam(ts[1])
	l2, a2, s2 := lam(ts[2])
	for j := range xa {
		m0 := xhat(float64(xa[j]), float64(ea[j]), ts[0])
		h := l1 - l0
		wantA := s1/s0*float64(xa[j]) - a1*(math.Exp(-h)-1)*m0
		m1 := xhat(float64(xb[j]), float64(eb[j]), ts[1])
		h, r0 := l2-l1, (l1-l0)/(l2-l1)
		D1 := (m1 - m0) / r0
		wantB := s2/s1*float64(xb[j]) - a2*(math.Exp(-h)-1)*m1 - 0.5*a2*(math.Exp(-h)-1)*D1
		if math.Abs(float64(outA[j])-wantA) > 1e-5 || math.Abs(float64(outB[j])-wantB) > 1e-5 || math.Abs(float64(x0[j])-m1) > 1e-6 {
			t.Errorf("j=%d: steps gave %v, %v (x̂0 %v), want %v, %v (x̂0 %v)", j, outA[j], outB[j], x0[j], wantA, wantB, m1)
		}
	}
	last := make([]float32, 3)
	d.Step(len(ts)-1, last, xb, eb, x0, nil)
	if !equalVec(last, x0) {
		t.Errorf("last step %v, want x̂0 %v", last, x0)
	}
}

// The first-order step of DPM-Solver++ is DDIM's η = 0 step, clipping included.
func TestDPMSolverFirstOrderIsDDIM(t *testing.T) {
	sched := NewLinear(1000, 1e-4, 0.02)
	x, eps := randVec(NewRNG(4), 64), randVec(NewRNG(5), 64)
	for i := range x {
		x[i] *= 2 // some x̂_0 outside [−1, 1]
	}
	for _, i := range []int{0, 4, 9} {
		dpm, _ := NewDPMSolver(sched, 10, 1, false)
		ddim, _ := NewDDIM(sched, 10, 0)
		a, b := make([]float32, 64), make([]float32, 64)
		dpm.Step(i, a, x, eps, nil, nil)
		ddim.Step(i, b, x, eps, nil, nil)
		for j := range a {
			if math.Abs(float64(a[j]-b[j])) > 1e-5 {
				t.Fatalf("step %d, j=%d: DPM-Solver++ order 1 gave %v, DDIM %v", i, j, a[j], b[j])
			}
		}
	}
}

// With the Gaussian oracle, DPM-Solver++ 2M's samples have the data's mean
// and spread at 50 steps, and so do the SDE variant's: that checks the noise
// it adds. (DDIM's final x̂_0 shrinks the spread: 0.273 for 0.3 here.)
func TestSamplersRecoverGaussianData(t *testing.T) {
	sched := NewLinear(1000, 1e-4, 0.02)
	g := gaussianOracle{sched: sched, mu: 0.1, s: 0.3}
	for _, kind := range []string{"dpmpp2m", "dpmpp2m-sde"} {
		s, err := NewSampler(kind, sched, 50, 0)
		if err != nil {
			t.Fatal(err)
		}
		setNoClip(s)
		x, err := Sample(g, s, 1, 20000, nil, NewRNG(3))
		if err != nil {
			t.Fatal(err)
		}
		mean, sd := moments(x)
		if math.Abs(mean-g.mu) > 0.01 || math.Abs(sd-g.s) > 0.02*g.s {
			t.Errorf("%s: samples have mean %.4f, sd %.4f; want %.2f, %.2f", kind, mean, sd, g.mu, g.s)
		}
	}
}
