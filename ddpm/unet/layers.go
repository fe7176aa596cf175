package unet

import (
	"math"

	"github.com/ddpm-go/ddpm/ddpm/nn"
)

// Param is one named parameter: a view into the model's flat weight buffer and
// its gradient.
type Param struct {
	Name  string
	Shape []int
	W, G  *nn.Tensor
	init  func(w []float32, rnd func() float64) // fills W at construction
}

// params collects parameters as layers are built; offsets into the flat
// buffers are assigned once all are known.
type params struct{ list []*Param }

func (p *params) add(name string, init func([]float32, func() float64), shape ...int) *Param {
	q := &Param{Name: name, Shape: shape, init: init}
	p.list = append(p.list, q)
	return q
}

// uniformInit is PyTorch's default for conv and linear layers: U(±1/√fan_in).
func uniformInit(fanIn int) func([]float32, func() float64) {
	bound := 1 / math.Sqrt(float64(fanIn))
	return func(w []float32, rnd func() float64) {
		for i := range w {
			w[i] = float32((2*rnd() - 1) * bound)
		}
	}
}

func constInit(v float32) func([]float32, func() float64) {
	return func(w []float32, _ func() float64) {
		for i := range w {
			w[i] = v
		}
	}
}

// ensure returns *t if it already has shape, else a new tensor of that shape.
func ensure(be nn.Backend, t **nn.Tensor, shape ...int) *nn.Tensor {
	if *t != nil && equalShape((*t).Shape, shape) {
		return *t
	}
	*t = be.New(shape...)
	return *t
}

func equalShape(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

type conv2d struct {
	w, b        *Param
	stride, pad int
	x, y, dx    *nn.Tensor
}

func newConv(p *params, name string, in, out, k, stride int) *conv2d {
	fan := in * k * k
	return &conv2d{
		w:      p.add(name+".weight", uniformInit(fan), out, in, k, k),
		b:      p.add(name+".bias", uniformInit(fan), out),
		stride: stride, pad: k / 2,
	}
}

func (c *conv2d) forward(be nn.Backend, x *nn.Tensor) *nn.Tensor {
	c.x = x
	k := c.w.Shape[2]
	ho := (x.Shape[2]+2*c.pad-k)/c.stride + 1
	wo := (x.Shape[3]+2*c.pad-k)/c.stride + 1
	y := ensure(be, &c.y, x.Shape[0], c.w.Shape[0], ho, wo)
	be.Conv2D(y, x, c.w.W, c.b.W, c.stride, c.pad)
	return y
}

// backward adds the parameter gradients and returns dx (nil if !needDx).
func (c *conv2d) backward(be nn.Backend, dy *nn.Tensor, needDx bool) *nn.Tensor {
	var dx *nn.Tensor
	if needDx {
		dx = ensure(be, &c.dx, c.x.Shape...)
	}
	be.Conv2DBackward(dx, c.w.G, c.b.G, dy, c.x, c.w.W, c.stride, c.pad)
	return dx
}

type linear struct {
	w, b     *Param
	x, y, dx *nn.Tensor
}

func newLinear(p *params, name string, in, out int) *linear {
	return &linear{w: p.add(name+".weight", uniformInit(in), out, in), b: p.add(name+".bias", uniformInit(in), out)}
}

func (l *linear) forward(be nn.Backend, x *nn.Tensor) *nn.Tensor {
	l.x = x
	y := ensure(be, &l.y, x.Shape[0], l.w.Shape[0])
	be.Linear(y, x, l.w.W, l.b.W)
	return y
}

func (l *linear) backward(be nn.Backend, dy *nn.Tensor) *nn.Tensor {
	dx := ensure(be, &l.dx, l.x.Shape...)
	be.LinearBackward(dx, l.w.G, l.b.G, dy, l.x, l.w.W)
	return dx
}

type groupNorm struct {
	g, b                 *Param
	groups               int
	x, y, dx, mean, rstd *nn.Tensor
}

const gnEps = 1e-5

func newGroupNorm(p *params, name string, groups, ch int) *groupNorm {
	return &groupNorm{g: p.add(name+".weight", constInit(1), ch), b: p.add(name+".bias", constInit(0), ch), groups: groups}
}

func (n *groupNorm) forward(be nn.Backend, x *nn.Tensor) *nn.Tensor {
	n.x = x
	y := ensure(be, &n.y, x.Shape...)
	mean := ensure(be, &n.mean, x.Shape[0]*n.groups)
	rstd := ensure(be, &n.rstd, x.Shape[0]*n.groups)
	be.GroupNorm(y, mean, rstd, x, n.g.W, n.b.W, n.groups, gnEps)
	return y
}

func (n *groupNorm) backward(be nn.Backend, dy *nn.Tensor) *nn.Tensor {
	dx := ensure(be, &n.dx, n.x.Shape...)
	be.GroupNormBackward(dx, n.g.G, n.b.G, dy, n.x, n.mean, n.rstd, n.g.W, n.groups)
	return dx
}

type silu struct{ x, y, sig, dx *nn.Tensor }

func (s *silu) forward(be nn.Backend, x *nn.Tensor) *nn.Tensor {
	s.x = x
	y := ensure(be, &s.y, x.Shape...)
	be.SiLU(y, ensure(be, &s.sig, x.Shape...), x)
	return y
}

func (s *silu) backward(be nn.Backend, dy *nn.Tensor) *nn.Tensor {
	dx := ensure(be, &s.dx, s.x.Shape...)
	be.SiLUBackward(dx, dy, s.x, s.sig)
	return dx
}
