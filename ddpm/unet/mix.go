package unet

import (
	"fmt"
	"math"
)

// Mix returns a network whose every weight is (1−w)·a's + w·b's: a point on
// the straight line between two networks of the same config (a "model soup",
// Wortsman et al. 2022). Averaging in weight space makes sense only for
// networks that share a basin, such as a fine-tune and the network it
// started from; for two networks trained apart it gives noise. w must lie in
// [0, 1]. The result lives on a's backend.
func Mix(a, b *Model, w float64) (*Model, error) {
	if math.IsNaN(w) || w < 0 || w > 1 {
		return nil, fmt.Errorf("unet: mix weight %v is outside [0, 1]", w)
	}
	if a.Config.String() != b.Config.String() {
		return nil, fmt.Errorf("unet: cannot mix %s with %s: the configs differ", a.Config, b.Config)
	}
	m, err := build(a.Config, a.Backend)
	if err != nil {
		return nil, err
	}
	wa, wb := a.weightsByName(), b.weightsByName()
	m.allocate(func(q *Param, dst []float32) {
		x, y := wa[q.Name], wb[q.Name]
		for i := range dst {
			dst[i] = float32((1-w)*float64(x[i]) + w*float64(y[i]))
		}
	})
	return m, nil
}
