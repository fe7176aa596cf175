package unet

import "slices"

// distiller holds the EMA network that TrainConfig.NullDistill's targets
// come from, and its host buffers.
type distiller struct {
	model   *Model
	xs, out []float32
	ts, ys  []int
	rows    []int // the batch rows trained on the null label
}

// distillNull replaces the noise target of each null-label row of t.batch
// with the EMA network's prediction for that row's x_t under its true label
// (labels, before the label drop).
func (t *Trainer) distillNull(labels []int) error {
	b, cfg := &t.batch, t.Model.Config
	if t.teacher == nil {
		m, err := New(cfg, t.Model.Backend, 0)
		if err != nil {
			return err
		}
		t.teacher = &distiller{model: m}
	}
	d := t.teacher
	px := cfg.Pixels()
	d.rows, d.ts, d.ys, d.xs = d.rows[:0], d.ts[:0], d.ys[:0], d.xs[:0]
	for i, l := range b.Labels {
		if l == cfg.NullLabel() {
			d.rows = append(d.rows, i)
			d.ts = append(d.ts, b.T[i])
			d.ys = append(d.ys, labels[i])
			d.xs = append(d.xs, b.XT[i*px:(i+1)*px]...)
		}
	}
	if len(d.rows) == 0 {
		return nil
	}
	t.Model.Backend.Copy(d.model.Weights, t.EMA)
	d.out = slices.Grow(d.out[:0], len(d.xs))[:len(d.xs)]
	if err := d.model.predict(d.out, d.xs, d.ts, d.ys); err != nil {
		return err
	}
	for j, i := range d.rows {
		copy(b.Eps[i*px:(i+1)*px], d.out[j*px:(j+1)*px])
	}
	return nil
}
