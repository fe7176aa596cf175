package gorgoniaref

import (
	"fmt"
	"hash"
	"hash/fnv"

	"github.com/chewxy/hm"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// arr is a float64 view of a tensor value for the naive reference kernels.
type arr struct {
	shape tensor.Shape
	data  []float64
}

// kernelFn describes a custom gorgonia op by plain float64 loops: a forward
// function and, per input, the gradient of Σ y·dy with respect to it.
type kernelFn struct {
	name    string // includes the op's parameters: gorgonia dedups nodes by it
	inDims  []int
	outDims int
	shape   func(in []tensor.Shape) tensor.Shape
	forward func(in []arr, out arr)
	grads   []func(in []arr, dy, dx arr) // nil entries: not differentiable
}

// apply adds the op to the graph.
func (k *kernelFn) apply(inputs ...*G.Node) (*G.Node, error) {
	return G.ApplyOp(&fnOp{k}, inputs...)
}

func tensorType(dims int) hm.Type {
	if dims == 0 {
		return hm.TypeVariable('a')
	}
	return G.TensorType{Dims: dims, Of: hm.TypeVariable('a')}
}

func toArr(v G.Value) (arr, error) {
	switch s := v.(type) {
	case *G.F64:
		return arr{shape: tensor.ScalarShape(), data: []float64{float64(*s)}}, nil
	case *G.F32:
		return arr{shape: tensor.ScalarShape(), data: []float64{float64(*s)}}, nil
	}
	t, ok := v.(tensor.Tensor)
	if !ok {
		return arr{}, fmt.Errorf("gorgoniaref: value %T is not a tensor", v)
	}
	a := arr{shape: t.Shape().Clone()}
	switch d := t.Data().(type) {
	case []float64:
		a.data = d
	case []float32:
		a.data = make([]float64, len(d))
		for i, x := range d {
			a.data[i] = float64(x)
		}
	default:
		return arr{}, fmt.Errorf("gorgoniaref: unsupported dtype %v", t.Dtype())
	}
	return a, nil
}

// fromArr returns a as a dense tensor of dtype dt.
func fromArr(a arr, dt tensor.Dtype) G.Value {
	if dt == tensor.Float32 {
		d := make([]float32, len(a.data))
		for i, x := range a.data {
			d[i] = float32(x)
		}
		return tensor.New(tensor.WithShape(a.shape...), tensor.WithBacking(d))
	}
	return tensor.New(tensor.WithShape(a.shape...), tensor.WithBacking(a.data))
}

func readInputs(vals []G.Value) ([]arr, tensor.Dtype, error) {
	in := make([]arr, len(vals))
	for i, v := range vals {
		a, err := toArr(v)
		if err != nil {
			return nil, tensor.Dtype{}, err
		}
		in[i] = a
	}
	return in, vals[0].Dtype(), nil
}

func shapesOf(ds []G.DimSizer) []tensor.Shape {
	s := make([]tensor.Shape, len(ds))
	for i, d := range ds {
		s[i] = d.(tensor.Shape)
	}
	return s
}

type fnOp struct{ k *kernelFn }

func (o *fnOp) Arity() int { return len(o.k.inDims) }
func (o *fnOp) Type() hm.Type {
	ts := make([]hm.Type, 0, len(o.k.inDims)+1)
	for _, d := range o.k.inDims {
		ts = append(ts, tensorType(d))
	}
	return hm.NewFnType(append(ts, tensorType(o.k.outDims))...)
}
func (o *fnOp) InferShape(ds ...G.DimSizer) (tensor.Shape, error) {
	return o.k.shape(shapesOf(ds)), nil
}
func (o *fnOp) Do(vals ...G.Value) (G.Value, error) {
	in, dt, err := readInputs(vals)
	if err != nil {
		return nil, err
	}
	shapes := make([]tensor.Shape, len(in))
	for i := range in {
		shapes[i] = in[i].shape
	}
	s := o.k.shape(shapes)
	out := arr{shape: s, data: make([]float64, s.TotalSize())}
	o.k.forward(in, out)
	return fromArr(out, dt), nil
}
func (o *fnOp) ReturnsPtr() bool      { return false }
func (o *fnOp) CallsExtern() bool     { return false }
func (o *fnOp) OverwritesInput() int  { return -1 }
func (o *fnOp) WriteHash(h hash.Hash) { fmt.Fprint(h, o.k.name) }
func (o *fnOp) Hashcode() uint32      { h := fnv.New32a(); o.WriteHash(h); return h.Sum32() }
func (o *fnOp) String() string        { return o.k.name }
func (o *fnOp) DiffWRT(n int) []bool {
	d := make([]bool, n)
	for i := range d {
		d[i] = i < len(o.k.grads) && o.k.grads[i] != nil
	}
	return d
}
func (o *fnOp) SymDiff(inputs G.Nodes, output, grad *G.Node) (G.Nodes, error) {
	out := make(G.Nodes, len(inputs))
	for i := range inputs {
		if i >= len(o.k.grads) || o.k.grads[i] == nil {
			continue
		}
		n, err := G.ApplyOp(&gradOp{o.k, i}, append(append(G.Nodes{}, inputs...), grad)...)
		if err != nil {
			return nil, err
		}
		out[i] = n
	}
	return out, nil
}

// gradOp computes the gradient of a kernelFn with respect to input i from
// the inputs and the output gradient.
type gradOp struct {
	k *kernelFn
	i int
}

func (o *gradOp) Arity() int { return len(o.k.inDims) + 1 }
func (o *gradOp) Type() hm.Type {
	ts := make([]hm.Type, 0, len(o.k.inDims)+2)
	for _, d := range o.k.inDims {
		ts = append(ts, tensorType(d))
	}
	return hm.NewFnType(append(ts, tensorType(o.k.outDims), tensorType(o.k.inDims[o.i]))...)
}
func (o *gradOp) InferShape(ds ...G.DimSizer) (tensor.Shape, error) {
	return ds[o.i].(tensor.Shape).Clone(), nil
}
func (o *gradOp) Do(vals ...G.Value) (G.Value, error) {
	in, dt, err := readInputs(vals)
	if err != nil {
		return nil, err
	}
	n := len(o.k.inDims)
	dx := arr{shape: in[o.i].shape.Clone(), data: make([]float64, in[o.i].shape.TotalSize())}
	o.k.grads[o.i](in[:n], in[n], dx)
	return fromArr(dx, dt), nil
}
func (o *gradOp) ReturnsPtr() bool      { return false }
func (o *gradOp) CallsExtern() bool     { return false }
func (o *gradOp) OverwritesInput() int  { return -1 }
func (o *gradOp) WriteHash(h hash.Hash) { fmt.Fprintf(h, "d%s/d%d", o.k.name, o.i) }
func (o *gradOp) Hashcode() uint32      { h := fnv.New32a(); o.WriteHash(h); return h.Sum32() }
func (o *gradOp) String() string        { return fmt.Sprintf("d%s/d%d", o.k.name, o.i) }
