package ddpm

import "math"

// Batch is one training batch of Algorithm 1: noisy images x_t, the noise eps
// that made them, their timesteps and (for class-conditional models) labels
// with some replaced by the null label.
type Batch struct {
	XT, Eps []float32
	T       []int
	Labels  []int
	xi      []float32 // PerturbInputs' noise
}

// NoiseBatch fills b from clean images x0 (n images laid end to end) and
// their labels (nil for unconditional): t uniform in [0, T), eps ~ N(0, I),
// x_t = √ᾱ_t·x0 + √(1−ᾱ_t)·eps, and each label replaced by nullLabel with
// probability pUncond (classifier-free guidance training).
func (s *Schedule) NoiseBatch(b *Batch, x0 []float32, n int, labels []int, pUncond float64, nullLabel int, rng *RNG) {
	b.XT = grow(b.XT, len(x0))
	b.Eps = grow(b.Eps, len(x0))
	if cap(b.T) < n {
		b.T = make([]int, n)
	}
	b.T = b.T[:n]
	for i := range b.T {
		b.T[i] = rng.IntN(s.T())
	}
	rng.Normal(b.Eps)
	s.QSampleBatch(b.XT, x0, b.Eps, b.T)
	b.Labels = b.Labels[:0]
	if labels == nil {
		b.Labels = nil
		return
	}
	for _, l := range labels[:n] {
		if rng.Float64() < pUncond {
			l = nullLabel
		}
		b.Labels = append(b.Labels, l)
	}
}

// PerturbInputs adds γ·√(1−ᾱ_t)·ξ, ξ ~ N(0, I), to each x_t of b, so x_t is
// made with ε + γ·ξ while the target stays ε: input perturbation (Ning et
// al. 2023), which trains the network on inputs a little off the forward
// process, as a sampler's own errors put them.
func (s *Schedule) PerturbInputs(b *Batch, gamma float64, rng *RNG) {
	b.xi = grow(b.xi, len(b.XT))
	rng.Normal(b.xi)
	n := len(b.XT) / len(b.T)
	for i, t := range b.T {
		k := float32(gamma * math.Sqrt(1-s.AlphaBar[t]))
		xt, xi := b.XT[i*n:(i+1)*n], b.xi[i*n:(i+1)*n]
		for j := range xt {
			xt[j] += k * xi[j]
		}
	}
}

// RolloutStep takes one deterministic DDIM step from x_from (timestep from)
// to timestep t with the predicted noise epsHat, as the samplers do (x̂_0
// clipped to [−1, 1], the noise re-derived from it), and writes the x_t it
// lands on into xt and the noise that maps that x_t back to the clean image
// x0 into target: (x_t − √ᾱ_t·x0)/√(1−ᾱ_t). Trained on such pairs, a network
// learns to steer a sampler's own slightly-off x_t back towards the data.
func (s *Schedule) RolloutStep(xt, target, xFrom, epsHat, x0 []float32, from, t int) {
	s.PredictX0(xt, xFrom, epsHat, from, true) // xt holds x̂_0 for now
	aFrom, bFrom := math.Sqrt(s.AlphaBar[from]), 1/math.Sqrt(1-s.AlphaBar[from])
	a, b := math.Sqrt(s.AlphaBar[t]), math.Sqrt(1-s.AlphaBar[t])
	for i, x0hat := range xt {
		eps := (float64(xFrom[i]) - aFrom*float64(x0hat)) * bFrom
		v := a*float64(x0hat) + b*eps
		xt[i] = float32(v)
		target[i] = float32((v - a*float64(x0[i])) / b)
	}
}

func grow(s []float32, n int) []float32 {
	if cap(s) < n {
		return make([]float32, n)
	}
	return s[:n]
}
