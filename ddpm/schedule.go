package ddpm

import (
	"fmt"
	"math"
)

// Schedule holds the noise schedule tables, computed in float64.
// Index t is the code index 0..T-1 of the paper's step t+1.
type Schedule struct {
	Kind     string    // "linear" or "cosine"
	Beta     []float64 // β_t
	Alpha    []float64 // α_t = 1 − β_t
	AlphaBar []float64 // ᾱ_t = ∏_{s≤t} α_s
}

// DefaultT is the number of diffusion steps used by the paper and the tutorial.
const DefaultT = 1000

// MaxT bounds T: finer schedules than this gain nothing, and each step costs
// three float64 table entries.
const MaxT = 100000

// NewLinear returns the linear schedule of Ho et al.: β evenly spaced from
// beta0 to beta1 over T steps (1e-4, 0.02, 1000 in the paper).
func NewLinear(T int, beta0, beta1 float64) *Schedule {
	beta := make([]float64, T)
	for i := range beta {
		if T == 1 {
			beta[i] = beta0
			continue
		}
		beta[i] = beta0 + (beta1-beta0)*float64(i)/float64(T-1)
	}
	return fromBetas("linear", beta)
}

// NewCosine returns the cosine schedule of Nichol & Dhariwal (s = 0.008,
// β clipped at 0.999).
func NewCosine(T int) *Schedule {
	const s = 0.008
	f := func(t float64) float64 {
		c := math.Cos((t/float64(T) + s) / (1 + s) * math.Pi / 2)
		return c * c
	}
	beta := make([]float64, T)
	for i := range beta {
		beta[i] = math.Min(1-f(float64(i+1))/f(float64(i)), 0.999)
	}
	return fromBetas("cosine", beta)
}

// NewSchedule returns the schedule with the given name ("linear" or "cosine")
// and the paper's parameters.
func NewSchedule(kind string, T int) (*Schedule, error) {
	if T < 1 || T > MaxT {
		return nil, fmt.Errorf("ddpm: schedule T %d is outside 1..%d", T, MaxT)
	}
	switch kind {
	case "linear", "":
		return NewLinear(T, 1e-4, 0.02), nil
	case "cosine":
		return NewCosine(T), nil
	}
	return nil, fmt.Errorf("ddpm: unknown schedule %q (want linear or cosine)", kind)
}

func fromBetas(kind string, beta []float64) *Schedule {
	s := &Schedule{Kind: kind, Beta: beta, Alpha: make([]float64, len(beta)), AlphaBar: make([]float64, len(beta))}
	prod := 1.0
	for i, b := range beta {
		s.Alpha[i] = 1 - b
		prod *= 1 - b
		s.AlphaBar[i] = prod
	}
	return s
}

// T returns the number of diffusion steps.
func (s *Schedule) T() int { return len(s.Beta) }

// SNR returns the signal-to-noise ratio ᾱ_t/(1−ᾱ_t) at timestep index t.
func (s *Schedule) SNR(t int) float64 { return s.AlphaBar[t] / (1 - s.AlphaBar[t]) }

// alphaBarPrev returns ᾱ_{t−1}, with ᾱ of "step −1" equal to 1.
func (s *Schedule) alphaBarPrev(t int) float64 {
	if t <= 0 {
		return 1
	}
	return s.AlphaBar[t-1]
}

// PosteriorVariance returns β̃_t = β_t·(1−ᾱ_{t−1})/(1−ᾱ_t), the variance of q(x_{t−1} | x_t, x_0).
func (s *Schedule) PosteriorVariance(t int) float64 {
	return s.Beta[t] * (1 - s.alphaBarPrev(t)) / (1 - s.AlphaBar[t])
}
