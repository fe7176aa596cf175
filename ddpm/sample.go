package ddpm

// Sample runs a whole reverse process for n images of size pixels from rng's
// noise and returns the samples. labels may be nil (unconditional).
func Sample(model Denoiser, s Sampler, n, size int, labels []int, rng *RNG) ([]float32, error) {
	p, err := NewProcess(model, s, n, size, labels, rng)
	if err != nil {
		return nil, err
	}
	if err := p.Run(nil); err != nil {
		return nil, err
	}
	return p.X, nil
}
