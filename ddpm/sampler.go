package ddpm

import (
	"fmt"
	"math"
	"strings"
)

// A Sampler is a reverse-process step function. It never sees the network:
// given x at step i of Timesteps() and the noise eps predicted for it, Step
// writes the less noisy image into xPrev. Every image of a batch shares the
// step, so the slices may hold any number of images. A multistep sampler
// (DPMSolver) remembers earlier steps: use one sampler per Process.
type Sampler interface {
	// Timesteps returns the model timesteps visited, noisiest first.
	Timesteps() []int
	// Step writes x_{prev} into xPrev and, when x0 is non-nil, the prediction
	// x̂_0 into x0. rng supplies fresh noise for stochastic samplers.
	// xPrev may alias x.
	Step(i int, xPrev, x, eps, x0 []float32, rng *RNG)
}

// DDPM is the ancestral sampler of Algorithm 2 over all T steps.
type DDPM struct {
	S *Schedule
	// Start is the paper's t to start from, x_Start (1..T; 0 means T, pure
	// noise). SDEdit starts lower, from a noised image.
	Start int
	// PosteriorSigma selects σ_t² = β̃_t instead of the paper's default β_t.
	PosteriorSigma bool
	// NoClip turns off clipping x̂_0 to [−1, 1]. Clipping (the default) is
	// what makes short-trained models give clean digits.
	NoClip bool

	ts    []int
	noise []float32
	x0    []float32
}

// Timesteps returns Start−1, Start−2, …, 0 (T−1, …, 0 by default).
func (d *DDPM) Timesteps() []int {
	n := start(d.Start, d.S)
	if len(d.ts) != n || d.ts[0] != n-1 {
		d.ts = make([]int, n)
		for i := range d.ts {
			d.ts[i] = n - 1 - i
		}
	}
	return d.ts
}

// start returns the paper's t a sampler starts from: s.T() when 0.
func start(t int, s *Schedule) int {
	if t <= 0 || t > s.T() {
		return s.T()
	}
	return t
}

// Step computes x_{t−1} = μ̃(x_t, x̂_0) + σ_t·z with the posterior mean
// μ̃ = √ᾱ_{t−1}β_t/(1−ᾱ_t)·x̂_0 + √α_t(1−ᾱ_{t−1})/(1−ᾱ_t)·x_t. Without
// clipping this equals Algorithm 2's (x_t − β_t/√(1−ᾱ_t)·ε)/√α_t.
func (d *DDPM) Step(i int, xPrev, x, eps, x0 []float32, rng *RNG) {
	s := d.S
	t := d.Timesteps()[i]
	x0 = scratch(&d.x0, x0, len(x))
	s.PredictX0(x0, x, eps, t, !d.NoClip)
	abPrev := s.alphaBarPrev(t)
	c0 := math.Sqrt(abPrev) * s.Beta[t] / (1 - s.AlphaBar[t])
	cx := math.Sqrt(s.Alpha[t]) * (1 - abPrev) / (1 - s.AlphaBar[t])
	sigma := 0.0
	if t > 0 {
		if d.PosteriorSigma {
			sigma = math.Sqrt(s.PosteriorVariance(t))
		} else {
			sigma = math.Sqrt(s.Beta[t])
		}
	}
	combine(xPrev, x0, x, c0, cx, sigma, &d.noise, rng)
}

// DDIM is the sampler of Song et al. over a sub-sequence of Steps timesteps.
// Eta = 0 is deterministic; Eta = 1 adds DDPM-like noise.
type DDIM struct {
	S      *Schedule
	Steps  int
	Eta    float64
	Start  int  // see DDPM.Start
	NoClip bool // see DDPM.NoClip

	ts    []int
	noise []float32
	x0    []float32
	eps   []float32
}

// NewDDIM returns a DDIM sampler over steps evenly spaced timesteps.
func NewDDIM(s *Schedule, steps int, eta float64) (*DDIM, error) {
	if steps < 1 || steps > s.T() {
		return nil, fmt.Errorf("ddpm: DDIM steps must be in 1..%d, got %d", s.T(), steps)
	}
	if eta < 0 || math.IsNaN(eta) {
		return nil, fmt.Errorf("ddpm: DDIM eta must be ≥ 0, got %v", eta)
	}
	return &DDIM{S: s, Steps: steps, Eta: eta}, nil
}

// Timesteps returns Steps timesteps spaced evenly from Start−1 (T−1 by
// default) down ("trailing" spacing, so the first step starts from x_Start).
func (d *DDIM) Timesteps() []int {
	if len(d.ts) != d.Steps || d.ts[0] != start(d.Start, d.S)-1 {
		d.ts = trailing(start(d.Start, d.S), d.Steps)
	}
	return d.ts
}

// Step computes x_{τ−1} = √ᾱ_{τ−1}·x̂_0 + √(1−ᾱ_{τ−1}−σ²)·ε + σ·z.
func (d *DDIM) Step(i int, xPrev, x, eps, x0 []float32, rng *RNG) {
	s := d.S
	ts := d.Timesteps()
	t := ts[i]
	abPrev := 1.0 // ᾱ of "step −1"
	if i+1 < len(ts) {
		abPrev = s.AlphaBar[ts[i+1]]
	}
	ab := s.AlphaBar[t]
	x0 = scratch(&d.x0, x0, len(x))
	s.PredictX0(x0, x, eps, t, !d.NoClip)
	sigma := d.Eta * math.Sqrt((1-abPrev)/(1-ab)) * math.Sqrt(1-ab/abPrev)
	dir := math.Sqrt(math.Max(1-abPrev-sigma*sigma, 0))
	if !d.NoClip {
		// Re-derive ε from the clipped x̂_0 (as GLIDE does), so the step stays
		// on the trajectory of the prediction it uses.
		eps = scratch(&d.eps, nil, len(x))
		a, b := math.Sqrt(ab), 1/math.Sqrt(1-ab)
		for i := range eps {
			eps[i] = float32((float64(x[i]) - a*float64(x0[i])) * b)
		}
	}
	// ε enters through the direction term; reuse combine with x := eps.
	combine(xPrev, x0, eps, math.Sqrt(abPrev), dir, sigma, &d.noise, rng)
}

// combine writes out = c0·a + c1·b + sigma·z (z fresh noise when sigma > 0).
func combine(out, a, b []float32, c0, c1, sigma float64, noise *[]float32, rng *RNG) {
	var z []float32
	if sigma > 0 {
		z = scratch(noise, nil, len(out))
		rng.Normal(z)
	}
	for i := range out {
		v := c0*float64(a[i]) + c1*float64(b[i])
		if z != nil {
			v += sigma * float64(z[i])
		}
		out[i] = float32(v)
	}
}

// scratch returns dst if non-nil, else a reusable buffer of length n.
func scratch(buf *[]float32, dst []float32, n int) []float32 {
	if dst != nil {
		return dst
	}
	if cap(*buf) < n {
		*buf = make([]float32, n)
	}
	return (*buf)[:n]
}

// Samplers lists the names NewSampler knows, in the order a menu shows them.
var Samplers = []string{"dpmpp2m", "dpmpp2m-sde", "dpmpp3m", "ddim", "ddpm"}

// NewSampler returns the sampler named kind over steps timesteps from pure
// noise (see NewSamplerFrom):
//
//	dpmpp2m      DPM-Solver++ 2M (Lu et al. 2022), deterministic
//	dpmpp2m-sde  SDE-DPM-Solver++ 2M, fresh noise each step
//	dpmpp3m      DPM-Solver++ 3M, deterministic
//	ddim         DDIM with the given eta (0: deterministic)
//	ddpm         the ancestral sampler over all T steps (steps is ignored)
//
// eta only applies to DDIM.
func NewSampler(kind string, s *Schedule, steps int, eta float64) (Sampler, error) {
	return NewSamplerFrom(kind, s, steps, eta, s.T())
}

// NewSamplerFrom returns the sampler named kind that starts from x_t at the
// paper's t = from (1..T; T is pure noise): at most from steps (ddpm takes
// all of them), spaced as NewSampler's. SDEdit starts from a noised image.
func NewSamplerFrom(kind string, s *Schedule, steps int, eta float64, from int) (Sampler, error) {
	if from < 1 || from > s.T() {
		return nil, fmt.Errorf("ddpm: the start t=%d is outside 1..%d", from, s.T())
	}
	if kind != "ddpm" && from < s.T() && steps > from {
		steps = from // starting lower: a step per timestep at most
	}
	switch kind {
	case "ddpm":
		return &DDPM{S: s, Start: from}, nil
	case "ddim":
		d, err := NewDDIM(s, steps, eta)
		if err != nil {
			return nil, err
		}
		d.Start = from
		return d, nil
	case "dpmpp2m", "dpmpp2m-sde", "dpmpp3m":
		order := 2
		if kind == "dpmpp3m" {
			order = 3
		}
		d, err := NewDPMSolver(s, steps, order, kind == "dpmpp2m-sde")
		if err != nil {
			return nil, err
		}
		d.Start = from
		return d, nil
	}
	return nil, fmt.Errorf("ddpm: unknown sampler %q (want one of %s)", kind, strings.Join(Samplers, ", "))
}
