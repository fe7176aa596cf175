package ddpm

import "math"

// QSample writes x_t = √ᾱ_t·x0 + √(1−ᾱ_t)·eps into xt for one image at step t
// (a sample of q(x_t | x_0)). xt may alias x0 or eps.
func (s *Schedule) QSample(xt, x0, eps []float32, t int) {
	a := math.Sqrt(s.AlphaBar[t])
	b := math.Sqrt(1 - s.AlphaBar[t])
	for i := range xt {
		xt[i] = float32(a*float64(x0[i]) + b*float64(eps[i]))
	}
}

// NoiseTo writes a sample of q(x_t | x_0) for the images in x0 into xt,
// with fresh noise from rng, at the paper's t (1..T; code index t−1).
// xt may alias x0.
func (s *Schedule) NoiseTo(xt, x0 []float32, t int, rng *RNG) {
	eps := make([]float32, len(x0))
	rng.Normal(eps)
	s.QSample(xt, x0, eps, t-1)
}

// QSampleBatch applies QSample to a batch of len(ts) images of equal size laid
// out one after another, image i at step ts[i].
func (s *Schedule) QSampleBatch(xt, x0, eps []float32, ts []int) {
	n := len(x0) / len(ts)
	for i, t := range ts {
		s.QSample(xt[i*n:(i+1)*n], x0[i*n:(i+1)*n], eps[i*n:(i+1)*n], t)
	}
}

// PredictX0 writes x̂_0 = (x_t − √(1−ᾱ_t)·eps)/√ᾱ_t into x0, clipped to
// [−1, 1] when clip is set.
func (s *Schedule) PredictX0(x0, xt, eps []float32, t int, clip bool) {
	a := 1 / math.Sqrt(s.AlphaBar[t])
	b := math.Sqrt(1 - s.AlphaBar[t])
	for i := range x0 {
		v := float32(a * (float64(xt[i]) - b*float64(eps[i])))
		if clip {
			v = clamp1(v)
		}
		x0[i] = v
	}
}

func clamp1(v float32) float32 {
	if v > 1 {
		return 1
	}
	if v < -1 {
		return -1
	}
	return v
}

// NoiseLoss returns the ε-prediction loss of Algorithm 1, mean((eps − pred)²),
// and writes its gradient with respect to pred into grad when grad is non-nil.
func NoiseLoss(pred, eps, grad []float32) float64 {
	var sum float64
	scale := 2 / float32(len(pred))
	for i, p := range pred {
		d := p - eps[i]
		sum += float64(d) * float64(d)
		if grad != nil {
			grad[i] = scale * d
		}
	}
	return sum / float64(len(pred))
}
