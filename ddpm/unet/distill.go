package unet

import "github.com/ddpm-go/ddpm/ddpm/nn"

// distiller holds the EMA network that TrainConfig.NullDistill's targets
// come from, and its input and output buffers.
type distiller struct {
	model   *Model
	x       *nn.Tensor
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
	k := len(d.rows)
	if k == 0 {
		return nil
	}
	be := t.Model.Backend
	be.Copy(d.model.Weights, t.EMA)
	x := ensure(be, &d.x, k, cfg.InChannels, cfg.ImageSize, cfg.ImageSize)
	be.Upload(x, d.xs)
	out, err := d.model.Forward(x, d.ts, d.ys)
	if err != nil {
		return err
	}
	d.out = grow32(d.out, k*px)
	be.Download(d.out, out)
	for j, i := range d.rows {
		copy(b.Eps[i*px:(i+1)*px], d.out[j*px:(j+1)*px])
	}
	return nil
}

func grow32(s []float32, n int) []float32 {
	if cap(s) < n {
		return make([]float32, n)
	}
	return s[:n]
}
