package gorgoniaref

import (
	"fmt"
	"math"

	G "gorgonia.org/gorgonia"
)

// Trainer trains the graph with gorgonia's own Adam solver on the
// noise-prediction loss mean((Out − ε)²). It is the slow second engine the
// trainer offers with -backend gorgonia.
type Trainer struct {
	Net  *Net
	Eps  *G.Node
	Loss *G.Node
	Step int

	vm     G.VM
	solver *G.AdamSolver
}

// NewTrainer adds the loss and its gradients to net's graph.
func NewTrainer(net *Net, lr float64) (*Trainer, error) {
	t := &Trainer{Net: net}
	t.Eps = G.NewTensor(net.Graph, net.Dtype, 4, G.WithShape(net.Out.Shape()...), G.WithName("eps"))
	diff, err := G.Sub(net.Out, t.Eps)
	if err != nil {
		return nil, err
	}
	sq, err := G.Square(diff)
	if err != nil {
		return nil, err
	}
	if t.Loss, err = G.Mean(sq); err != nil {
		return nil, err
	}
	if _, err = G.Grad(t.Loss, net.Params...); err != nil {
		return nil, fmt.Errorf("gorgoniaref: symbolic gradient: %w", err)
	}
	t.vm = G.NewTapeMachine(net.Graph, G.BindDualValues(net.Params...))
	t.solver = G.NewAdamSolver(G.WithLearnRate(lr))
	return t, nil
}

// TrainStep takes one Adam step on noisy images xt with their noise eps,
// timesteps and labels, and returns the loss before the step.
func (t *Trainer) TrainStep(xt, eps []float32, ts, labels []int) (float64, error) {
	if err := t.Net.SetInputs(xt, ts, labels); err != nil {
		return 0, err
	}
	if err := G.Let(t.Eps, t.Net.dense(eps, t.Net.Out.Shape()...)); err != nil {
		return 0, err
	}
	t.vm.Reset()
	if err := t.vm.RunAll(); err != nil {
		return 0, err
	}
	v, err := Float64s(t.Loss.Value())
	if err != nil {
		return 0, err
	}
	if math.IsNaN(v[0]) || math.IsInf(v[0], 0) {
		return v[0], fmt.Errorf("gorgoniaref: loss is %v at step %d; weights left unchanged", v[0], t.Step+1)
	}
	if err := t.solver.Step(G.NodesToValueGrads(t.Net.Params)); err != nil {
		return 0, err
	}
	t.Step++
	return v[0], nil
}

// Weights returns the parameters as one flat vector in unet.Model.Weights layout.
func (t *Trainer) Weights() ([]float32, error) {
	var flat []float32
	for _, p := range t.Net.Params {
		v, err := Float64s(p.Value())
		if err != nil {
			return nil, err
		}
		if !finite(v) {
			return nil, fmt.Errorf("gorgoniaref: parameter %s is not finite", p.Name())
		}
		for _, x := range v {
			flat = append(flat, float32(x))
		}
	}
	return flat, nil
}

// Close releases the machine.
func (t *Trainer) Close() error { return t.vm.Close() }
