package training

import (
	"github.com/ddpm-go/ddpm/ddpm"
	"github.com/ddpm-go/ddpm/ddpm/gorgoniaref"
	"github.com/ddpm-go/ddpm/ddpm/unet"
	"gorgonia.org/tensor"
)

// GorgoniaEngine trains the same network as a gorgonia graph on its
// TapeMachine with gorgonia's Adam (much slower; kept as a second engine and
// a cross-check). After each step the weights are copied into the
// unet.Trainer, which keeps the EMA and the step count, so checkpoints and
// samples work as with the native engine. Gorgonia's Adam moments are not
// saved: a resumed gorgonia run restarts them.
type GorgoniaEngine struct {
	tr    *unet.Trainer
	g     *gorgoniaref.Trainer
	batch ddpm.Batch
}

// NewGorgoniaEngine builds the graph for batches of n images, starting from
// tr's weights.
func NewGorgoniaEngine(tr *unet.Trainer, n int) (*GorgoniaEngine, error) {
	net, err := gorgoniaref.Build(tr.Model.Config, n, tensor.Float32)
	if err != nil {
		return nil, err
	}
	g, err := gorgoniaref.NewTrainer(net, tr.Config.LR)
	if err != nil {
		return nil, err
	}
	host := make([]float32, tr.Model.NumParams())
	tr.Model.Backend.Download(host, tr.Model.Weights)
	if err := net.SetWeights(host); err != nil {
		return nil, err
	}
	return &GorgoniaEngine{tr: tr, g: g}, nil
}

// TrainStep implements Engine.
func (e *GorgoniaEngine) TrainStep(x0 []float32, n int, labels []int, rng *ddpm.RNG) (float64, error) {
	cfg := e.tr.Model.Config
	e.tr.Schedule.NoiseBatch(&e.batch, x0, n, labels, e.tr.Config.PUncond, cfg.NullLabel(), rng)
	loss, err := e.g.TrainStep(e.batch.XT, e.batch.Eps, e.batch.T, e.batch.Labels)
	if err != nil {
		return loss, err
	}
	w, err := e.g.Weights()
	if err != nil {
		return loss, err
	}
	be := e.tr.Model.Backend
	be.Upload(e.tr.Model.Weights, w)
	e.tr.Step++
	e.tr.UpdateEMA()
	return loss, nil
}

// Sync implements Engine.
func (e *GorgoniaEngine) Sync() error { return nil }
