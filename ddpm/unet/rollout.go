package unet

import (
	"fmt"
	"slices"

	"github.com/ddpm-go/ddpm/ddpm"
)

// rollout replaces, with probability Config.Rollout, each labelled row of
// t.batch by one DDIM step of the EMA network towards its timestep from
// RolloutStride timesteps higher (TrainConfig.Rollout). x0 holds the
// batch's clean images.
func (t *Trainer) rollout(x0 []float32, rng *ddpm.RNG) error {
	b, cfg := &t.batch, t.Model.Config
	stride := t.Config.RolloutStride
	if stride < 1 {
		return fmt.Errorf("unet: Rollout needs a RolloutStride ≥ 1, got %d", stride)
	}
	d, err := t.emaTeacher()
	if err != nil {
		return err
	}
	px := cfg.Pixels()
	d.rows, d.ts, d.ys = d.rows[:0], d.ts[:0], d.ys[:0]
	d.xs = slices.Grow(d.xs[:0], len(b.XT))
	for i, l := range b.Labels {
		if l == cfg.NullLabel() || b.T[i]+stride >= t.Schedule.T() || rng.Float64() >= t.Config.Rollout {
			continue
		}
		d.rows, d.ts, d.ys = append(d.rows, i), append(d.ts, b.T[i]+stride), append(d.ys, l)
		k := len(d.xs)
		d.xs = d.xs[:k+px]
		t.Schedule.QSample(d.xs[k:], x0[i*px:(i+1)*px], b.Eps[i*px:(i+1)*px], b.T[i]+stride)
	}
	if len(d.rows) == 0 {
		return nil
	}
	d.out = slices.Grow(d.out[:0], len(d.xs))[:len(d.xs)]
	if err := d.model.predict(d.out, d.xs, d.ts, d.ys); err != nil {
		return err
	}
	for k, i := range d.rows {
		row := func(s []float32) []float32 { return s[i*px : (i+1)*px] }
		t.Schedule.RolloutStep(row(b.XT), row(b.Eps), d.xs[k*px:(k+1)*px], d.out[k*px:(k+1)*px], row(x0), d.ts[k], b.T[i])
	}
	return nil
}
