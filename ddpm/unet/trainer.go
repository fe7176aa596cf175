package unet

import (
	"fmt"
	"math"

	"github.com/ddpm-go/ddpm/ddpm"
	"github.com/ddpm-go/ddpm/ddpm/nn"
)

// TrainConfig holds the optimiser settings of a training run.
type TrainConfig struct {
	LR       float64 // Adam learning rate (2e-4)
	Beta1    float64 // 0.9
	Beta2    float64 // 0.999
	Eps      float64 // 1e-8
	EMADecay float64 // decay of the weight average sampled from (0.999, warmed up); 0 disables it
	PUncond  float64 // probability of training a label as the null label (0.1)

	// The learning-rate schedule (LRAt): a linear warm-up over the first
	// Warmup steps, and a cosine decay from step DecayFrom to 0 at step
	// DecayTo (none unless DecayTo > DecayFrom). Zero values: a constant LR.
	Warmup, DecayFrom, DecayTo int

	// MinSNRGamma > 0 weights each image's loss by min(SNR_t, γ)/SNR_t
	// (min-SNR-γ, Hang et al. 2023, for ε-prediction), which lowers the
	// weight of the nearly clean timesteps; 0 is the paper's plain mean.
	MinSNRGamma float64

	// X0Floor κ > 0 keeps each image's weight in x̂₀ terms at least κ: the
	// ε-loss weight becomes max(min(SNR_t, γ), κ)/SNR_t (max(SNR_t, κ)/SNR_t
	// without min-SNR). The ε-loss weighs an
	// error in x̂₀ by SNR_t, nearly 0 at the noisiest timesteps (4e-5 at
	// t = 999), where the sampler's first steps read x̂₀; 0: no floor.
	X0Floor float64 `json:",omitempty"`

	// InputPerturb γ > 0 makes each x_t with ε + γ·ξ (ξ fresh Gaussian
	// noise) while the target stays ε: input perturbation (Ning et al.
	// 2023), against the exposure bias of training only on the forward
	// process's x_t (Schedule.PerturbInputs); 0: none.
	InputPerturb float64 `json:",omitempty"`

	// NullDistill trains each null-label image towards the EMA network's
	// prediction under the image's true label, ε̂(x_t, y), instead of the
	// noise ε that made it. Both targets have the same mean given x_t when
	// the conditional prediction is right (E[ε|x_t] = E_y[E[ε|x_t, y]]), but
	// the distilled one lacks the noise's variance given (x_t, y), which
	// swamps the little the null label learns from each image.
	NullDistill bool `json:",omitempty"`

	// Rollout p > 0 trains each labelled image, with probability p, on the
	// kind of input a sampler makes: its x_t is one DDIM step of the EMA
	// network (Schedule.RolloutStep) from the same image noised, with the
	// same ε, to t + RolloutStride, and its target is the noise that maps
	// that x_t back to the clean image (scheduled sampling against exposure
	// bias). Images with t + RolloutStride ≥ T keep the forward process's
	// x_t. 0: none.
	Rollout       float64 `json:",omitempty"`
	RolloutStride int     `json:",omitempty"` // in timesteps (100: a 10-step sampler's stride)
}

// LRAt returns the learning rate of the step-th optimiser step (from 1).
func (c TrainConfig) LRAt(step int) float64 {
	lr := c.LR
	if step < c.Warmup {
		lr *= float64(step) / float64(c.Warmup)
	}
	if c.DecayTo > c.DecayFrom && step > c.DecayFrom {
		p := math.Min(1, float64(step-c.DecayFrom)/float64(c.DecayTo-c.DecayFrom))
		lr *= 0.5 * (1 + math.Cos(math.Pi*p))
	}
	return lr
}

// Weighted reports whether the loss weighs images unequally (min-SNR or an
// x̂₀ floor).
func (c TrainConfig) Weighted() bool { return c.MinSNRGamma > 0 || c.X0Floor > 0 }

// LossWeight returns the weight of an image's loss at timestep index t
// (1 without min-SNR weighting or an x̂₀ floor).
func (c TrainConfig) LossWeight(s *ddpm.Schedule, t int) float64 {
	if !c.Weighted() {
		return 1
	}
	snr := s.SNR(t)
	w := snr // the weight of an x̂₀ error in the plain ε-loss
	if c.MinSNRGamma > 0 {
		w = math.Min(snr, c.MinSNRGamma)
	}
	return math.Max(w, c.X0Floor) / snr
}

// DefaultTrainConfig returns the settings of the MNIST tutorial and the paper.
func DefaultTrainConfig() TrainConfig {
	return TrainConfig{LR: 2e-4, Beta1: 0.9, Beta2: 0.999, Eps: 1e-8, EMADecay: 0.999, PUncond: 0.1}
}

// Trainer runs Algorithm 1 with Adam on a Model and keeps an exponential
// moving average of its weights.
type Trainer struct {
	Model    *Model
	Schedule *ddpm.Schedule
	Config   TrainConfig
	Step     int        // optimiser steps taken
	M, V     *nn.Tensor // Adam moments, flat like Model.Weights
	EMA      *nn.Tensor // weight average, flat like Model.Weights

	batch      ddpm.Batch
	x, eps, dy *nn.Tensor
	oneGrad    *nn.Tensor
	teacher    *distiller // NullDistill's and Rollout's EMA network
}

// NewTrainer returns a trainer at step 0 with zero Adam moments and the EMA
// equal to the current weights.
func NewTrainer(m *Model, s *ddpm.Schedule, cfg TrainConfig) *Trainer {
	be := m.Backend
	t := &Trainer{Model: m, Schedule: s, Config: cfg,
		M: be.New(m.Weights.Len()), V: be.New(m.Weights.Len()), EMA: be.New(m.Weights.Len())}
	be.Copy(t.EMA, m.Weights)
	return t
}

// TrainStep takes one optimiser step on the clean images x0 (n images) and
// their labels (nil for an unconditional model) and returns the loss.
func (t *Trainer) TrainStep(x0 []float32, n int, labels []int, rng *ddpm.RNG) (float64, error) {
	cfg := t.Model.Config
	if len(x0) != n*cfg.Pixels() {
		return 0, fmt.Errorf("unet: %d values for %d images of %d pixels", len(x0), n, cfg.Pixels())
	}
	if cfg.NumClasses > 0 && labels == nil {
		return 0, fmt.Errorf("unet: class-conditional model trained without labels")
	}
	if cfg.NumClasses == 0 {
		labels = nil
	}
	t.Schedule.NoiseBatch(&t.batch, x0, n, labels, t.Config.PUncond, cfg.NullLabel(), rng)
	if t.Config.NullDistill && labels != nil {
		if err := t.distillNull(labels); err != nil {
			return 0, err
		}
	}
	if t.Config.Rollout > 0 && labels != nil {
		if err := t.rollout(x0, rng); err != nil {
			return 0, err
		}
	}
	if t.Config.InputPerturb > 0 {
		t.Schedule.PerturbInputs(&t.batch, t.Config.InputPerturb, rng)
	}
	loss, err := t.Gradient(t.batch.XT, t.batch.Eps, n, t.batch.T, t.batch.Labels)
	if err != nil {
		return 0, err
	}
	if math.IsNaN(loss) || math.IsInf(loss, 0) {
		return loss, fmt.Errorf("unet: loss is %v at step %d; weights left unchanged", loss, t.Step+1)
	}
	t.Apply()
	return loss, nil
}

// Gradient computes the training loss for given noisy images, noise,
// timesteps and labels (the noise-prediction MSE, each image weighted by
// Config.LossWeight), and leaves its gradient in Model.Grads.
func (t *Trainer) Gradient(xt, eps []float32, n int, ts, labels []int) (float64, error) {
	loss, err := t.loss(xt, eps, n, ts, labels, t.Config.Weighted())
	if err != nil {
		return 0, err
	}
	t.Model.ZeroGrad()
	t.Model.Backward(t.dy) // Loss left the gradient of the loss with respect to the output here
	return loss, nil
}

// Loss returns the noise-prediction loss without computing parameter
// gradients; the gradient with respect to the network output is left in t.dy.
func (t *Trainer) Loss(xt, eps []float32, n int, ts, labels []int) (float64, error) {
	return t.loss(xt, eps, n, ts, labels, false)
}

func (t *Trainer) loss(xt, eps []float32, n int, ts, labels []int, weighted bool) (float64, error) {
	be, cfg := t.Model.Backend, t.Model.Config
	x := ensure(be, &t.x, n, cfg.InChannels, cfg.ImageSize, cfg.ImageSize)
	e := ensure(be, &t.eps, x.Shape...)
	dy := ensure(be, &t.dy, x.Shape...)
	be.Upload(x, xt)
	be.Upload(e, eps)
	out, err := t.Model.Forward(x, ts, labels)
	if err != nil {
		return 0, err
	}
	if weighted {
		return t.weightedMSE(dy, out, e, ts), nil
	}
	return be.MSE(dy, out, e), nil
}

// weightedMSE is MSE with each image's error weighted by LossWeight. It works
// on views of the batch, so every backend runs it with its own MSE and Axpy
// kernels.
func (t *Trainer) weightedMSE(dy, out, e *nn.Tensor, ts []int) float64 {
	be := t.Model.Backend
	n := len(ts)
	per := out.Len() / n
	one := ensure(be, &t.oneGrad, per) // one image's unweighted gradient
	var loss float64
	for i := 0; i < n; i++ {
		w := t.Config.LossWeight(t.Schedule, ts[i])
		l := be.MSE(one, be.View(out, i*per, per), be.View(e, i*per, per))
		g := be.View(dy, i*per, per)
		be.Zero(g)
		be.Axpy(g, float32(w/float64(n)), one) // MSE's gradient is of one image's mean: scale by w/n, rounding once
		loss += w * l
	}
	return loss / float64(n)
}

// Apply takes one Adam step with the gradients in Model.Grads and updates the EMA.
func (t *Trainer) Apply() {
	be, c := t.Model.Backend, t.Config
	t.Step++
	be.Adam(t.Model.Weights, t.Model.Grads, t.M, t.V, c.LRAt(t.Step), c.Beta1, c.Beta2, c.Eps, t.Step)
	t.UpdateEMA()
}

// UpdateEMA folds the current weights into the EMA. The decay warms up as
// min(EMADecay, (1+step)/(10+step)), so the random initial weights do not
// linger in the average (with a flat 0.999 they still weigh 13% at step 2000).
func (t *Trainer) UpdateEMA() {
	be, d := t.Model.Backend, t.Config.EMADecay
	if d <= 0 {
		be.Copy(t.EMA, t.Model.Weights)
		return
	}
	step := float64(t.Step)
	be.EMA(t.EMA, t.Model.Weights, math.Min(d, (1+step)/(10+step)))
}
