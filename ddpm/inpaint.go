package ddpm

import "math"

// Inpaint wraps a sampler to fill in the unknown part of images (RePaint,
// Lugmayr et al. 2022, without its resampling jumps): after every step the
// known pixels are set to the known image noised to the step's timestep
// with fresh noise, and at the end to the known image itself, so the network
// only ever invents the unknown pixels, in keeping with the known ones. Like
// every sampler it never sees the network.
type Inpaint struct {
	Sampler
	S     *Schedule
	Known []float32 // the images to keep, where Mask is 1
	Mask  []float32 // per pixel: 1 known, 0 to fill in (values between blend)

	noise []float32
}

// Step takes the wrapped sampler's step, then puts the known pixels back.
func (p *Inpaint) Step(i int, xPrev, x, eps, x0 []float32, rng *RNG) {
	p.Sampler.Step(i, xPrev, x, eps, x0, rng)
	ts := p.Timesteps()
	a, b := 1.0, 0.0 // at the end: the known image itself
	if i+1 < len(ts) {
		ab := p.S.AlphaBar[ts[i+1]]
		a, b = math.Sqrt(ab), math.Sqrt(1-ab)
	}
	var z []float32
	if b > 0 {
		z = scratch(&p.noise, nil, len(xPrev))
		rng.Normal(z)
	}
	for j := range xPrev {
		m := float64(p.Mask[j])
		if m == 0 {
			continue
		}
		known := a * float64(p.Known[j])
		if z != nil {
			known += b * float64(z[j])
		}
		xPrev[j] = float32(m*known + (1-m)*float64(xPrev[j]))
	}
}
