package unet

import "slices"

// distiller holds the EMA network that TrainConfig.NullDistill's and
// TrainConfig.Rollout's targets come from, and its host buffers.
type distiller struct {
	model   *Model
	xs, out []float32
	ts, ys  []int
	rows    []int // the batch rows it makes targets for
	step    int   // the Trainer.Step whose EMA model holds, +1 (0: none yet)
}

// emaTeacher returns the distiller, its network holding the current EMA
// weights (copied once a step, however many targets it makes).
func (t *Trainer) emaTeacher() (*distiller, error) {
	if t.teacher == nil {
		m, err := New(t.Model.Config, t.Model.Backend, 0)
		if err != nil {
			return nil, err
		}
		t.teacher = &distiller{model: m}
	}
	if t.teacher.step != t.Step+1 {
		t.Model.Backend.Copy(t.teacher.model.Weights, t.EMA)
		t.teacher.step = t.Step + 1
	}
	return t.teacher, nil
}

// distillNull replaces the noise target of each null-label row of t.batch
// with the EMA network's prediction for that row's x_t under its true label
// (labels, before the label drop).
func (t *Trainer) distillNull(labels []int) error {
	b, cfg := &t.batch, t.Model.Config
	d, err := t.emaTeacher()
	if err != nil {
		return err
	}
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
	d.out = slices.Grow(d.out[:0], len(d.xs))[:len(d.xs)]
	if err := d.model.predict(d.out, d.xs, d.ts, d.ys); err != nil {
		return err
	}
	for j, i := range d.rows {
		copy(b.Eps[i*px:(i+1)*px], d.out[j*px:(j+1)*px])
	}
	return nil
}
