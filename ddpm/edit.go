package ddpm

import "fmt"

// Edit says how a reverse process starts from a given image instead of
// noise: the image noised to a t and denoised back (SDEdit, Meng et al.
// 2022), or its unknown part filled in (inpainting).
type Edit struct {
	Image []float32 // one image; every image of the batch starts from it
	From  int       // the paper's t (1..T) to noise Image to; T starts from pure noise
	Mask  []float32 // nil, or per pixel 1 to keep Image, 0 to fill in (inpainting)
}

// NewEditProcess starts a reverse process for n copies of e.Image. The
// sampler s must start at e.From (NewSamplerFrom); with a mask it is
// wrapped in Inpaint. Below T the start is e.Image noised to e.From with
// noise from rng; at T it is pure noise from rng, as NewProcess's.
func NewEditProcess(model Denoiser, s Sampler, sched *Schedule, n int, labels []int, rng *RNG, e Edit) (*Process, error) {
	px := len(e.Image)
	if n < 1 || px == 0 {
		return nil, fmt.Errorf("ddpm: an edit needs an image and at least one copy of it")
	}
	if e.From < 1 || e.From > sched.T() {
		return nil, fmt.Errorf("ddpm: the start t=%d is outside 1..%d", e.From, sched.T())
	}
	if ts := s.Timesteps(); len(ts) == 0 || ts[0] != e.From-1 {
		return nil, fmt.Errorf("ddpm: the sampler does not start at t=%d (NewSamplerFrom makes one that does)", e.From)
	}
	if e.Mask != nil {
		if len(e.Mask) != px {
			return nil, fmt.Errorf("ddpm: a mask of %d pixels for an image of %d", len(e.Mask), px)
		}
		s = &Inpaint{Sampler: s, S: sched, Known: repeat(e.Image, n), Mask: repeat(e.Mask, n)}
	}
	if e.From == sched.T() {
		return NewProcess(model, s, n, px, labels, rng)
	}
	x := repeat(e.Image, n)
	sched.NoiseTo(x, x, e.From, rng)
	return NewProcessFrom(model, s, n, x, labels, rng)
}

// repeat returns n copies of img, one after another.
func repeat(img []float32, n int) []float32 {
	out := make([]float32, 0, n*len(img))
	for range n {
		out = append(out, img...)
	}
	return out
}
