// Package training runs Algorithm 1 on MNIST for the trainer CLI: it picks
// each step's batch deterministically from (seed, step), so a run resumed
// from a checkpoint continues exactly as an uninterrupted one, measures the
// held-out test loss, and samples figures from the EMA weights.
package training

import (
	"fmt"
	"math/rand/v2"

	"github.com/ddpm-go/ddpm/ddpm"
	"github.com/ddpm-go/ddpm/ddpm/mnist"
	"github.com/ddpm-go/ddpm/ddpm/unet"
)

// Engine takes optimiser steps. The default engine is unet.Trainer on an
// nn.Backend; gorgonia's is another.
type Engine interface {
	// TrainStep takes one step on clean images and returns the loss.
	TrainStep(x0 []float32, n int, labels []int, rng *ddpm.RNG) (float64, error)
	// Sync brings the engine's weights and EMA into the unet.Trainer (for
	// checkpoints and samples); a no-op for the native engine.
	Sync() error
}

// Run is one training run.
type Run struct {
	Trainer     *unet.Trainer // holds the weights, EMA, Adam state and step
	Engine      Engine
	Train, Test *mnist.Set
	Batch       int
	Seed        uint64

	x0     []float32
	labels []int
	perm   []int
	epoch  int
	ema    *unet.Model
}

// New returns a run; engine may be nil to train with tr itself.
func New(tr *unet.Trainer, engine Engine, train, test *mnist.Set, batch int, seed uint64) (*Run, error) {
	if batch < 1 || batch > train.N {
		return nil, fmt.Errorf("training: batch %d must be in 1..%d", batch, train.N)
	}
	if train.Size != tr.Model.Config.ImageSize || tr.Model.Config.InChannels != 1 {
		return nil, fmt.Errorf("training: data is %d×%d, the model takes %d×%d×%d", train.Size, train.Size, tr.Model.Config.InChannels, tr.Model.Config.ImageSize, tr.Model.Config.ImageSize)
	}
	if engine == nil {
		engine = nativeEngine{tr}
	}
	return &Run{Trainer: tr, Engine: engine, Train: train, Test: test, Batch: batch, Seed: seed, epoch: -1}, nil
}

type nativeEngine struct{ *unet.Trainer }

func (nativeEngine) Sync() error { return nil }

// StepsPerEpoch is the number of full batches in the training set.
func (r *Run) StepsPerEpoch() int { return r.Train.N / r.Batch }

// Epoch returns the (0-based) epoch of the next step.
func (r *Run) Epoch() int { return r.Trainer.Step / r.StepsPerEpoch() }

// batch fills the batch of a step: epoch e visits the training set in the
// order of a permutation drawn from (seed, e).
func (r *Run) batch(step int) {
	spe := r.StepsPerEpoch()
	if e := step / spe; e != r.epoch {
		r.perm = rand.New(rand.NewPCG(r.Seed, uint64(e))).Perm(r.Train.N)
		r.epoch = e
	}
	px := r.Train.Size * r.Train.Size
	if len(r.x0) != r.Batch*px {
		r.x0 = make([]float32, r.Batch*px)
		r.labels = make([]int, r.Batch)
	}
	for i, j := range r.perm[(step%spe)*r.Batch : (step%spe+1)*r.Batch] {
		copy(r.x0[i*px:], r.Train.Image(j))
		r.labels[i] = r.Train.Labels[j]
	}
}

// Step takes the next optimiser step and returns its loss.
func (r *Run) Step() (float64, error) {
	step := r.Trainer.Step
	r.batch(step)
	var labels []int
	if r.Trainer.Model.Config.NumClasses > 0 {
		labels = r.labels
	}
	return r.Engine.TrainStep(r.x0, r.Batch, labels, ddpm.NewRNGStream(r.Seed, uint64(step)+1<<32))
}

// testChunk is how many test images TestLoss draws noise for and runs at a
// time. It is fixed, not the training batch, because the noise is drawn
// chunk by chunk: with the batch, runs at different -batch saw different
// noise and their test losses did not compare.
const testChunk = 64

// TestLoss returns the loss of the current weights on the first n test
// images with fixed noise and timesteps, so values are comparable across
// steps and runs, whatever their batch.
func (r *Run) TestLoss(n int) (float64, error) {
	if err := r.Engine.Sync(); err != nil {
		return 0, err
	}
	n = min(n, r.Test.N)
	rng := ddpm.NewRNGStream(0, 0x7e57)
	var b ddpm.Batch
	px := r.Test.Size * r.Test.Size
	var total float64
	for lo := 0; lo < n; lo += testChunk {
		hi := min(lo+testChunk, n)
		var labels []int
		if r.Trainer.Model.Config.NumClasses > 0 {
			labels = r.Test.Labels[lo:hi]
		}
		r.Trainer.Schedule.NoiseBatch(&b, r.Test.Images[lo*px:hi*px], hi-lo, labels, 0, 0, rng)
		l, err := r.Trainer.Loss(b.XT, b.Eps, hi-lo, b.T, b.Labels)
		if err != nil {
			return 0, err
		}
		total += l * float64(hi-lo)
	}
	return total / float64(n), nil
}

// EMAModel returns a model holding the current EMA weights.
func (r *Run) EMAModel() (*unet.Model, error) {
	if err := r.Engine.Sync(); err != nil {
		return nil, err
	}
	m := r.Trainer.Model
	if r.ema == nil {
		e, err := unet.New(m.Config, m.Backend, 0)
		if err != nil {
			return nil, err
		}
		r.ema = e
	}
	m.Backend.Copy(r.ema.Weights, r.Trainer.EMA)
	return r.ema, nil
}
