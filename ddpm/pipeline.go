package ddpm

import "fmt"

// A Denoiser predicts the noise in a batch of n images at timestep t.
// labels holds one class per image (the null label for unconditional), or is
// nil for an unconditional model.
type Denoiser interface {
	PredictNoise(eps, x []float32, n, t int, labels []int) error
}

// Guided wraps a class-conditional Denoiser with classifier-free guidance:
// ε̃ = ε(x, ∅) + Scale·(ε(x, y) − ε(x, ∅)). Scale 1 is plain conditional
// sampling and costs one network call; other scales cost one call on a batch
// twice as large.
type Guided struct {
	Model     Denoiser
	Scale     float64
	NullLabel int

	// From and To, when To > 0, limit guidance to the timesteps
	// From ≤ t ≤ To (a guidance interval, Kynkäänniemi et al. 2024); the
	// other steps are plain conditional and cost one network call.
	From, To int

	xx, ee []float32
	ll     []int
}

// PredictNoise implements Denoiser.
func (g *Guided) PredictNoise(eps, x []float32, n, t int, labels []int) error {
	outside := g.To > 0 && (t < g.From || t > g.To)
	if g.Scale == 1 || outside || labels == nil || allEqual(labels, g.NullLabel) {
		return g.Model.PredictNoise(eps, x, n, t, labels)
	}
	g.xx = append(append(g.xx[:0], x...), x...)
	g.ll = g.ll[:0]
	g.ll = append(g.ll, labels...)
	for range labels {
		g.ll = append(g.ll, g.NullLabel)
	}
	g.ee = scratch(&g.ee, nil, 2*len(x))
	if err := g.Model.PredictNoise(g.ee, g.xx, 2*n, t, g.ll); err != nil {
		return err
	}
	Guide(eps, g.ee[len(x):], g.ee[:len(x)], g.Scale)
	return nil
}

// Guide writes ε̃ = uncond + w·(cond − uncond) into out.
func Guide(out, uncond, cond []float32, w float64) {
	for i := range out {
		u := float64(uncond[i])
		out[i] = float32(u + w*(float64(cond[i])-u))
	}
}

func allEqual(s []int, v int) bool {
	for _, x := range s {
		if x != v {
			return false
		}
	}
	return true
}

// Process is one run of the reverse process, advanced a step at a time so a
// caller (the browser, a CLI) decides when to draw.
type Process struct {
	Model   Denoiser
	Sampler Sampler
	N       int       // images in the batch
	Labels  []int     // per image, or nil
	X       []float32 // current x_t, N images; pure noise at the start
	X0      []float32 // x̂_0 predicted at the last step
	RNG     *RNG

	i   int
	eps []float32
}

// NewProcess starts a reverse process for n images of size pixels each, from
// noise drawn from rng.
func NewProcess(model Denoiser, s Sampler, n, size int, labels []int, rng *RNG) (*Process, error) {
	if labels != nil && len(labels) != n {
		return nil, fmt.Errorf("ddpm: %d labels for %d images", len(labels), n)
	}
	p := &Process{Model: model, Sampler: s, N: n, Labels: labels, RNG: rng,
		X: make([]float32, n*size), X0: make([]float32, n*size), eps: make([]float32, n*size)}
	rng.Normal(p.X)
	return p, nil
}

// NewProcessFrom starts a reverse process from the n images in x (copied),
// taken to be x_t at the sampler's first timestep: SDEdit starts from an
// image noised to that t (Schedule.NoiseTo), with a sampler from NewSamplerFrom.
func NewProcessFrom(model Denoiser, s Sampler, n int, x []float32, labels []int, rng *RNG) (*Process, error) {
	if n < 1 || len(x)%n != 0 {
		return nil, fmt.Errorf("ddpm: %d values for %d images", len(x), n)
	}
	if labels != nil && len(labels) != n {
		return nil, fmt.Errorf("ddpm: %d labels for %d images", len(labels), n)
	}
	return &Process{Model: model, Sampler: s, N: n, Labels: labels, RNG: rng,
		X: append([]float32(nil), x...), X0: make([]float32, len(x)), eps: make([]float32, len(x))}, nil
}

// Done reports whether every step has been taken; X then holds the samples.
func (p *Process) Done() bool { return p.i >= len(p.Sampler.Timesteps()) }

// Index returns the number of steps taken so far.
func (p *Process) Index() int { return p.i }

// Timestep returns the model timestep of the next step (−1 when done).
func (p *Process) Timestep() int {
	if p.Done() {
		return -1
	}
	return p.Sampler.Timesteps()[p.i]
}

// Step runs the network once and takes one reverse step.
func (p *Process) Step() error {
	if p.Done() {
		return nil
	}
	t := p.Timestep()
	if err := p.Model.PredictNoise(p.eps, p.X, p.N, t, p.Labels); err != nil {
		return err
	}
	p.Sampler.Step(p.i, p.X, p.X, p.eps, p.X0, p.RNG)
	p.i++
	return nil
}

// Run takes every remaining step, calling onStep (if non-nil) after each.
func (p *Process) Run(onStep func(p *Process) error) error {
	for !p.Done() {
		if err := p.Step(); err != nil {
			return err
		}
		if onStep != nil {
			if err := onStep(p); err != nil {
				return err
			}
		}
	}
	return nil
}
