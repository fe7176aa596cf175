package ddpm

import (
	"slices"
	"testing"
)

// runEdit runs images lo..hi of an edit of n images the way a page worker
// does: the batch's noise through a window, every step.
func runEdit(t *testing.T, kind string, e Edit, n, lo, hi int, labels []int) []float32 {
	t.Helper()
	s := NewLinear(1000, 1e-4, 0.02)
	smp, err := NewSamplerFrom(kind, s, 10, 0, e.From)
	if err != nil {
		t.Fatal(err)
	}
	rng := NewRNG(7)
	rng.Window(n*len(e.Image), lo*len(e.Image))
	var ls []int
	if labels != nil {
		ls = labels[lo:hi]
	}
	p, err := NewEditProcess(&fakeDenoiser{}, smp, s, hi-lo, ls, rng, e)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Run(nil); err != nil {
		t.Fatal(err)
	}
	return p.X
}

// Split into slices (as the page's workers split a batch), an edit gives
// the images that the whole batch gives: SDEdit and inpainting alike, with
// a sampler that draws fresh noise at every step.
func TestEditSplitMatchesWhole(t *testing.T) {
	img, mask := make([]float32, 16), make([]float32, 16)
	for i := range img {
		img[i] = float32(i%5)/2 - 1
		mask[i] = float32(i / 8) // top half filled in, bottom half kept
	}
	labels := []int{3, 1, 4, 1, 5}
	for _, tc := range []struct {
		name string
		kind string
		e    Edit
	}{
		{"sdedit", "dpmpp2m", Edit{Image: img, From: 400}},
		{"sdedit/sde", "dpmpp2m-sde", Edit{Image: img, From: 700}},
		{"inpaint", "dpmpp2m", Edit{Image: img, From: 1000, Mask: mask}},
		{"inpaint/from", "ddim", Edit{Image: img, From: 600, Mask: mask}},
	} {
		whole := runEdit(t, tc.kind, tc.e, 5, 0, 5, labels)
		split := append(runEdit(t, tc.kind, tc.e, 5, 0, 2, labels), runEdit(t, tc.kind, tc.e, 5, 2, 5, labels)...)
		if !slices.Equal(whole, split) {
			t.Errorf("%s: split batch differs from the whole batch", tc.name)
		}
		if slices.Equal(whole[:16], whole[16:32]) {
			t.Errorf("%s: two images of the batch came out the same", tc.name)
		}
		if tc.e.Mask != nil {
			for i := range 5 {
				for j := 8; j < 16; j++ {
					if got := whole[i*16+j]; got != img[j] {
						t.Fatalf("%s: image %d, kept pixel %d is %v, want %v", tc.name, i, j, got, img[j])
					}
				}
			}
		}
	}
}

// From T without a mask, an edit is plain sampling: the image is ignored.
func TestEditFromTIsSampling(t *testing.T) {
	s := NewLinear(1000, 1e-4, 0.02)
	img := make([]float32, 16)
	smp, _ := NewSampler("ddim", s, 10, 0)
	p, err := NewEditProcess(&fakeDenoiser{}, smp, s, 3, nil, NewRNG(9), Edit{Image: img, From: 1000})
	if err != nil {
		t.Fatal(err)
	}
	q, _ := NewProcess(&fakeDenoiser{}, smp, 3, 16, nil, NewRNG(9))
	if !slices.Equal(p.X, q.X) {
		t.Error("the start differs from NewProcess's")
	}
}

func TestEditRejectsBadInput(t *testing.T) {
	s := NewLinear(1000, 1e-4, 0.02)
	fromT, _ := NewSampler("ddim", s, 10, 0)
	from500, _ := NewSamplerFrom("ddim", s, 10, 0, 500)
	img := make([]float32, 16)
	for _, c := range []struct {
		smp Sampler
		e   Edit
	}{
		{fromT, Edit{Image: img, From: 0}},
		{fromT, Edit{Image: img, From: 1001}},
		{from500, Edit{Image: img, From: 500, Mask: make([]float32, 15)}},
		{from500, Edit{Image: nil, From: 500}},
		{fromT, Edit{Image: img, From: 500}}, // a sampler that starts at T would take x_500 for x_T
	} {
		if _, err := NewEditProcess(&fakeDenoiser{}, c.smp, s, 2, nil, NewRNG(1), c.e); err == nil {
			t.Errorf("%d pixels, from %d, %d mask pixels, sampler from %d: no error", len(c.e.Image), c.e.From, len(c.e.Mask), c.smp.Timesteps()[0]+1)
		}
	}
	if _, err := NewEditProcess(&fakeDenoiser{}, from500, s, 2, nil, NewRNG(1), Edit{Image: img, From: 500}); err != nil {
		t.Errorf("a good edit: %v", err)
	}
}
