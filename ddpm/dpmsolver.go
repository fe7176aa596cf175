package ddpm

import (
	"fmt"
	"math"
)

// DPMSolver is DPM-Solver++ (Lu et al. 2022), the multistep solver of the
// diffusion probability-flow ODE in data-prediction form: each step turns the
// network's ε into x̂_0 (clipped to [−1, 1]) and extrapolates from the last
// Order predictions in λ = log(√ᾱ/√(1−ᾱ)). Order 2 ("2M") is what diffusers
// recommends for guided sampling; SDE selects SDE-DPM-Solver++, which adds
// fresh noise each step. It visits the same trailing timesteps as DDIM, and
// its first step (no history yet) and its last step (to ᾱ = 1, where λ is
// infinite) are first order: the ODE variant's first-order step is DDIM's.
type DPMSolver struct {
	S      *Schedule
	Steps  int
	Order  int  // 1, 2 or 3 (the SDE variant: 1 or 2)
	SDE    bool // SDE-DPM-Solver++: a stochastic step instead of the ODE's
	Start  int  // see DDPM.Start
	NoClip bool // see DDPM.NoClip

	ts    []int
	noise []float32
	// hist holds the x̂_0 of the last Order−1 steps, newest first, and lam
	// their λ; last is the step index hist[0] came from.
	hist [][]float32
	lam  []float64
	last int
	cur  []float32
}

// NewDPMSolver returns DPM-Solver++ of the given order (1–3) over steps
// trailing timesteps; sde selects the stochastic variant.
func NewDPMSolver(s *Schedule, steps, order int, sde bool) (*DPMSolver, error) {
	if steps < 1 || steps > s.T() {
		return nil, fmt.Errorf("ddpm: DPM-Solver++ steps must be in 1..%d, got %d", s.T(), steps)
	}
	if order < 1 || order > 3 || sde && order > 2 {
		return nil, fmt.Errorf("ddpm: DPM-Solver++ order must be 1, 2 or 3 (1 or 2 for the SDE variant), got %d", order)
	}
	return &DPMSolver{S: s, Steps: steps, Order: order, SDE: sde}, nil
}

// Timesteps returns the same trailing timesteps as DDIM.
func (d *DPMSolver) Timesteps() []int {
	if len(d.ts) != d.Steps || d.ts[0] != start(d.Start, d.S)-1 {
		d.ts = trailing(start(d.Start, d.S), d.Steps)
	}
	return d.ts
}

// lambda returns λ = log(α/σ) for α = √ᾱ, σ = √(1−ᾱ), with the α and σ.
func lambda(ab float64) (lam, alpha, sigma float64) {
	alpha, sigma = math.Sqrt(ab), math.Sqrt(1-ab)
	return math.Log(alpha) - math.Log(sigma), alpha, sigma
}

// Step takes one multistep DPM-Solver++ step from ts[i] to ts[i+1] (or to
// ᾱ = 1 at the last step). Steps must come in order from i = 0; a step out
// of order starts the history afresh (a first-order step).
func (d *DPMSolver) Step(i int, xPrev, x, eps, x0 []float32, rng *RNG) {
	s, ts := d.S, d.Timesteps()
	t := ts[i]
	d0 := scratch(&d.cur, nil, len(x))
	s.PredictX0(d0, x, eps, t, !d.NoClip)
	if x0 != nil {
		copy(x0, d0)
	}
	if i == 0 || d.last != i-1 || len(d.hist) > 0 && len(d.hist[0]) != len(x) {
		d.hist, d.lam = d.hist[:0], d.lam[:0]
	}
	lamS, _, sigmaS := lambda(s.AlphaBar[t])
	if i+1 == len(ts) {
		// To ᾱ = 1 (σ = 0, λ = ∞) every variant's first-order step is x̂_0.
		copy(xPrev, d0)
	} else {
		lamT, alphaT, sigmaT := lambda(s.AlphaBar[ts[i+1]])
		h := lamT - lamS
		order := min(d.Order, len(d.hist)+1)
		// The ODE step is x_t = σ_t/σ_s·x − α_t(e^{−h}−1)·D, D the extrapolated
		// x̂_0 below; the SDE step doubles h in the data term, scales x by e^{−h}
		// and adds σ_t·√(1−e^{−2h})·z.
		cx, cd, sigma := sigmaT/sigmaS, -alphaT*math.Expm1(-h), 0.0
		if d.SDE {
			cx, cd, sigma = sigmaT/sigmaS*math.Exp(-h), -alphaT*math.Expm1(-2*h), sigmaT*math.Sqrt(-math.Expm1(-2*h))
		}
		// D = Σ w_k·m_k is the extrapolated x̂_0 the step uses: m0 is this
		// step's x̂_0, m1 and m2 the earlier ones, r_k their λ-gaps over h.
		w := [3]float64{1, 0, 0}
		switch order {
		case 2: // D = D0 + ½·D1, D1 = (m0−m1)/r0 (diffusers' "midpoint" form)
			r0 := (lamS - d.lam[0]) / h
			w = [3]float64{1 + 0.5/r0, -0.5 / r0, 0}
		case 3: // D = D0 + k1·D1 + k2·D2 from divided differences of m0, m1, m2
			r0, r1 := (lamS-d.lam[0])/h, (d.lam[0]-d.lam[1])/h
			em := math.Expm1(-h)
			k1 := -(em/h + 1) / em          // α_t((e^{−h}−1)/h + 1), over cd
			k2 := ((em+h)/(h*h) - 0.5) / em // −α_t((e^{−h}−1+h)/h² − ½), over cd
			// D1 = (1+q)·D1_0 − q·D1_1 and D2 = (D1_0 − D1_1)/(r0+r1), with
			// q = r0/(r0+r1), D1_0 = (m0−m1)/r0, D1_1 = (m1−m2)/r1.
			q := r0 / (r0 + r1)
			a := k1*(1+q) + k2/(r0+r1) // weight of D1_0
			b := k1*q + k2/(r0+r1)     // weight of −D1_1
			w = [3]float64{1 + a/r0, -a/r0 - b/r1, b / r1}
		}
		var z []float32
		if sigma > 0 {
			z = scratch(&d.noise, nil, len(x))
			rng.Normal(z)
		}
		var m1, m2 []float32
		if order >= 2 {
			m1 = d.hist[0]
		}
		if order >= 3 {
			m2 = d.hist[1]
		}
		for j := range xPrev {
			dv := w[0] * float64(d0[j])
			if m1 != nil {
				dv += w[1] * float64(m1[j])
			}
			if m2 != nil {
				dv += w[2] * float64(m2[j])
			}
			v := cx*float64(x[j]) + cd*dv
			if z != nil {
				v += sigma * float64(z[j])
			}
			xPrev[j] = float32(v)
		}
	}
	// Keep x̂_0 for the next steps: the newest first, at most Order−1.
	if keep := d.Order - 1; keep > 0 {
		var buf []float32
		if len(d.hist) == keep {
			buf = d.hist[keep-1]
			d.hist, d.lam = d.hist[:keep-1], d.lam[:keep-1]
		}
		buf = append(buf[:0], d0...)
		d.hist = append([][]float32{buf}, d.hist...)
		d.lam = append([]float64{lamS}, d.lam...)
	}
	d.last = i
}

// trailing returns steps timesteps spaced evenly from T−1 down, so the first
// step starts from x_T (the "trailing" spacing of Lin et al. 2024).
func trailing(T, steps int) []int {
	ts := make([]int, steps)
	for i := range ts {
		ts[i] = int(math.Round(float64(T)-float64(i)*float64(T)/float64(steps))) - 1
	}
	return ts
}
