package gorgoniaref

import (
	"fmt"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// Probe computes L = Σ Out·W for fixed weights W and its gradient with
// respect to every parameter, on gorgonia's TapeMachine.
type Probe struct {
	Net   *Net
	W     *G.Node
	Loss  *G.Node
	Grads G.Nodes // in Net.Params order
	vm    G.VM
}

// NewProbe adds the probe loss and its symbolic gradients to net's graph.
func NewProbe(net *Net) (*Probe, error) {
	p := &Probe{Net: net}
	p.W = G.NewTensor(net.Graph, net.Dtype, 4, G.WithShape(net.Out.Shape()...), G.WithName("probe_w"))
	prod, err := G.HadamardProd(net.Out, p.W)
	if err != nil {
		return nil, err
	}
	if p.Loss, err = G.Sum(prod); err != nil {
		return nil, err
	}
	if p.Grads, err = G.Grad(p.Loss, net.Params...); err != nil {
		return nil, fmt.Errorf("gorgoniaref: symbolic gradient: %w", err)
	}
	p.vm = G.NewTapeMachine(net.Graph)
	return p, nil
}

// SetW sets the probe weights.
func (p *Probe) SetW(w []float32) error {
	return G.Let(p.W, p.Net.dense(w, p.Net.Out.Shape()...))
}

// Run evaluates the graph. A TapeMachine must be reset before every run, or
// it silently returns stale values.
func (p *Probe) Run() error {
	p.vm.Reset()
	return p.vm.RunAll()
}

// Value returns the loss after Run.
func (p *Probe) Value() (float64, error) {
	v, err := Float64s(p.Loss.Value())
	if err != nil {
		return 0, err
	}
	return v[0], nil
}

// Output returns the network output after Run.
func (p *Probe) Output() ([]float64, error) { return Float64s(p.Net.Out.Value()) }

// Gradient returns the gradient of parameter i after Run.
func (p *Probe) Gradient(i int) ([]float64, error) { return Float64s(p.Grads[i].Value()) }

// Close releases the machine.
func (p *Probe) Close() error { return p.vm.Close() }

// letFloat64 sets a float64 node's value.
func letFloat64(n *G.Node, v []float64) error {
	return G.Let(n, tensor.New(tensor.WithShape(n.Shape()...), tensor.WithBacking(append([]float64(nil), v...))))
}
