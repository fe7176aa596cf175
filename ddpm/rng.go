package ddpm

import "math/rand/v2"

// RNG is a seeded source of Gaussian noise. It is pure Go (PCG), so the same
// seed gives the same stream natively and in WebAssembly.
type RNG struct {
	src *rand.PCG
	r   *rand.Rand

	total, offset int       // see Window
	buf           []float32 // a whole batch's draw in window mode
}

// NewRNG returns a generator seeded with seed.
func NewRNG(seed uint64) *RNG { return NewRNGStream(seed, 0x9e3779b97f4a7c15) }

// NewRNGStream returns the generator for one of many independent streams of
// a seed (the trainer uses one stream per step, so a resumed run draws the
// same noise as an uninterrupted one).
func NewRNGStream(seed, stream uint64) *RNG {
	src := rand.NewPCG(seed, stream)
	return &RNG{src: src, r: rand.New(src)}
}

// Normal fills dst with independent N(0, 1) samples.
func (g *RNG) Normal(dst []float32) {
	if g.total > 0 {
		if cap(g.buf) < g.total {
			g.buf = make([]float32, g.total)
		}
		g.buf = g.buf[:g.total]
		g.fill(g.buf)
		copy(dst, g.buf[g.offset:g.offset+len(dst)])
		return
	}
	g.fill(dst)
}

func (g *RNG) fill(dst []float32) {
	for i := range dst {
		dst[i] = float32(g.r.NormFloat64())
	}
}

// Window makes every later Normal call draw total values and return those
// from offset on. A worker that computes images lo..hi of a batch sets
// Window(batch·pixels, lo·pixels) and so draws exactly the noise that the
// whole batch would give those images: split runs match unsplit ones.
func (g *RNG) Window(total, offset int) { g.total, g.offset = total, offset }

// IntN returns a uniform integer in [0, n).
func (g *RNG) IntN(n int) int { return g.r.IntN(n) }

// Float64 returns a uniform float in [0, 1).
func (g *RNG) Float64() float64 { return g.r.Float64() }

// MarshalBinary returns the generator state, for checkpoints.
func (g *RNG) MarshalBinary() ([]byte, error) { return g.src.MarshalBinary() }

// UnmarshalBinary restores a state written by MarshalBinary.
func (g *RNG) UnmarshalBinary(b []byte) error { return g.src.UnmarshalBinary(b) }
