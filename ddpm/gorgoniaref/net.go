// Package gorgoniaref expresses the ddpm/unet network as a gorgonia ExprGraph.
// It is the oracle that the hand-written forward and backward passes are
// tested against (gorgonia's symbolic differentiation supplies the chain rule
// through the whole graph), and a slower second training engine.
//
// Stock gorgonia ops build the graph where they are sound: matrix products,
// transposes, sums, element-wise products, sigmoid, concatenation, nearest
// upsampling, squares and means. Convolution, GroupNorm, per-channel
// broadcasting and the attention core are custom ops computed by naive
// float64 loops, because gorgonia v0.9.18's own GroupNorm and strided
// convolution give wrong values or gradients (its GroupNorm mixes up an
// argument once a group has ≥ 264 elements; on small U-Nets built from its
// stock ops the gradients disagreed with finite differences by ~100%).
// The tests check the whole graph's gradients against central differences
// before trusting it.
package gorgoniaref

import (
	"fmt"
	"math"

	"github.com/ddpm-go/ddpm/ddpm/nn"
	"github.com/ddpm-go/ddpm/ddpm/unet"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// Net is the U-Net as a graph for a fixed batch size.
type Net struct {
	Config unet.Config
	N      int
	Dtype  tensor.Dtype
	Graph  *G.ExprGraph

	X      *G.Node // [N, InChannels, S, S]
	TSin   *G.Node // [N, TimeDim] sinusoidal timestep embedding
	OneHot *G.Node // [N, NumClasses+1] labels; nil for unconditional nets
	Out    *G.Node // predicted noise, like X
	// Params are the parameter nodes in unet.Model.Params order, with the same names.
	Params []*G.Node

	shapes map[string][]int
}

// Option changes how Build expresses the network.
type Option func(*builder)

// StockConv makes stride-1 convolutions gorgonia's own Conv2d (im2col and a
// BLAS GEMM) plus a bias op, instead of the naive reference loops: the graph
// then runs at gorgonia's speed. Its forward pass is checked against ours;
// train with the default graph, whose gradients are checked.
func StockConv() Option { return func(b *builder) { b.stockConv = true } }

// Build constructs the graph of cfg for batches of n images.
func Build(cfg unet.Config, n int, dt tensor.Dtype, opts ...Option) (*Net, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	// The reference model fixes the parameter names, shapes and order.
	ref, err := unet.New(cfg, nn.CPU{}, 0)
	if err != nil {
		return nil, err
	}
	net := &Net{Config: cfg, N: n, Dtype: dt, Graph: G.NewGraph(), shapes: map[string][]int{}}
	byName := map[string]*G.Node{}
	for _, p := range ref.Params {
		node := G.NewTensor(net.Graph, dt, len(p.Shape), G.WithShape(p.Shape...), G.WithName(p.Name), G.WithInit(G.Zeroes()))
		net.Params = append(net.Params, node)
		byName[p.Name] = node
		net.shapes[p.Name] = p.Shape
	}
	b := &builder{net: net, p: byName}
	for _, o := range opts {
		o(b)
	}
	S, td := cfg.ImageSize, cfg.TimeDim()
	net.X = G.NewTensor(net.Graph, dt, 4, G.WithShape(n, cfg.InChannels, S, S), G.WithName("x"))
	net.TSin = G.NewMatrix(net.Graph, dt, G.WithShape(n, td), G.WithName("tsin"))
	if cfg.NumClasses > 0 {
		net.OneHot = G.NewMatrix(net.Graph, dt, G.WithShape(n, cfg.NumClasses+1), G.WithName("onehot"))
	}
	net.Out = b.unet()
	if b.err != nil {
		return nil, b.err
	}
	return net, nil
}

// builder threads the first error through graph construction.
type builder struct {
	net       *Net
	p         map[string]*G.Node
	err       error
	stockConv bool
}

func (b *builder) must(n *G.Node, err error) *G.Node {
	if err != nil && b.err == nil {
		b.err = err
	}
	return n
}

func (b *builder) param(name string) *G.Node {
	n := b.p[name]
	if n == nil && b.err == nil {
		b.err = fmt.Errorf("gorgoniaref: no parameter %q", name)
	}
	return n
}

func (b *builder) silu(x *G.Node) *G.Node {
	if b.err != nil {
		return nil
	}
	return b.must(G.HadamardProd(x, b.must(G.Sigmoid(x))))
}

func (b *builder) linear(name string, x *G.Node) *G.Node {
	if b.err != nil {
		return nil
	}
	wt := b.must(G.Transpose(b.param(name + ".weight")))
	if b.err != nil {
		return nil
	}
	y := b.must(G.Mul(x, wt))
	if b.err != nil {
		return nil
	}
	return b.must(addBiasFn.apply(y, b.param(name+".bias")))
}

func (b *builder) conv(name string, x *G.Node, stride int) *G.Node {
	if b.err != nil {
		return nil
	}
	k := b.net.shapes[name+".weight"][2]
	if b.stockConv && stride == 1 {
		y := b.must(G.Conv2d(x, b.param(name+".weight"), tensor.Shape{k, k}, []int{k / 2, k / 2}, []int{1, 1}, []int{1, 1}))
		if b.err != nil {
			return nil
		}
		return b.must(biasChannelsFn.apply(y, b.param(name+".bias")))
	}
	return b.must(convFn(stride, k/2).apply(x, b.param(name+".weight"), b.param(name+".bias")))
}

func (b *builder) norm(name string, x *G.Node) *G.Node {
	if b.err != nil {
		return nil
	}
	return b.must(groupNormFn(b.net.Config.Groups, 1e-5).apply(x, b.param(name+".weight"), b.param(name+".bias")))
}

func (b *builder) add(x, y *G.Node) *G.Node {
	if b.err != nil {
		return nil
	}
	return b.must(G.Add(x, y))
}

func (b *builder) res(name string, x, temb *G.Node) *G.Node {
	h := b.conv(name+".conv1", b.silu(b.norm(name+".norm1", x)), 1)
	te := b.silu(temb)
	tv := b.linear(name+".temb_proj", te)
	if b.err != nil {
		return nil
	}
	h = b.must(addChannelsFn.apply(h, tv))
	h = b.norm(name+".norm2", h)
	if b.net.Config.EmbScale {
		s := b.linear(name+".temb_scale", te)
		if b.err != nil {
			return nil
		}
		h = b.must(scaleChannelsFn.apply(h, s))
	}
	h = b.conv(name+".conv2", b.silu(h), 1)
	skip := x
	if _, ok := b.p[name+".skip.weight"]; ok {
		skip = b.conv(name+".skip", x, 1)
	}
	return b.add(h, skip)
}

func (b *builder) attn(name string, x *G.Node) *G.Node {
	qkv := b.conv(name+".qkv", b.norm(name+".norm", x), 1)
	if b.err != nil {
		return nil
	}
	a := b.must(attentionFn.apply(qkv))
	return b.add(x, b.conv(name+".proj", a, 1))
}

func (b *builder) unet() *G.Node {
	cfg := b.net.Config
	temb := b.linear("time_embed.2", b.silu(b.linear("time_embed.0", b.net.TSin)))
	if b.net.OneHot != nil && b.err == nil {
		temb = b.add(temb, b.must(G.Mul(b.net.OneHot, b.param("label_embed.weight"))))
	}
	h := b.conv("conv_in", b.net.X, 1)
	L := len(cfg.Mults)
	skips := make([]*G.Node, L)
	for i := 0; i < L; i++ {
		for r := 0; r < cfg.NumResBlocks; r++ {
			h = b.res(fmt.Sprintf("down.%d.res.%d", i, r), h, temb)
		}
		skips[i] = h
		if i < L-1 {
			h = b.conv(fmt.Sprintf("down.%d.downsample", i), h, 2)
		}
	}
	h = b.res("mid.res.0", h, temb)
	if cfg.Attention {
		h = b.attn("mid.attn", h)
	}
	h = b.res("mid.res.1", h, temb)
	for i := L - 1; i >= 0; i-- {
		if b.err != nil {
			return nil
		}
		h = b.must(G.Concat(1, h, skips[i]))
		for r := 0; r < cfg.NumResBlocks; r++ {
			h = b.res(fmt.Sprintf("up.%d.res.%d", i, r), h, temb)
		}
		if i > 0 && b.err == nil {
			h = b.must(G.Upsample2D(h, 2))
		}
	}
	return b.conv("conv_out", b.silu(b.norm("out_norm", h)), 1)
}

// SetWeights gives the parameter nodes the values of a flat weight vector
// laid out like unet.Model.Weights.
func (net *Net) SetWeights(flat []float32) error {
	off := 0
	for _, p := range net.Params {
		shape := net.shapes[p.Name()]
		n := 1
		for _, d := range shape {
			n *= d
		}
		if off+n > len(flat) {
			return fmt.Errorf("gorgoniaref: %d weights, the network needs more", len(flat))
		}
		if err := G.Let(p, net.dense(flat[off:off+n], shape...)); err != nil {
			return err
		}
		off += n
	}
	if off != len(flat) {
		return fmt.Errorf("gorgoniaref: %d weights, the network needs %d", len(flat), off)
	}
	return nil
}

// SetInputs sets the images, timesteps and labels (nil for unconditional).
func (net *Net) SetInputs(x []float32, ts, labels []int) error {
	cfg := net.Config
	if len(x) != net.N*cfg.Pixels() || len(ts) != net.N {
		return fmt.Errorf("gorgoniaref: inputs for %d images, the graph takes %d", len(ts), net.N)
	}
	if err := G.Let(net.X, net.dense(x, net.N, cfg.InChannels, cfg.ImageSize, cfg.ImageSize)); err != nil {
		return err
	}
	td := cfg.TimeDim()
	tsin := make([]float32, net.N*td)
	unet.TimestepEmbedding(tsin, ts, td)
	if err := G.Let(net.TSin, net.dense(tsin, net.N, td)); err != nil {
		return err
	}
	if net.OneHot == nil {
		return nil
	}
	if len(labels) != net.N {
		return fmt.Errorf("gorgoniaref: %d labels for %d images", len(labels), net.N)
	}
	oh := make([]float32, net.N*(cfg.NumClasses+1))
	for i, l := range labels {
		if l < 0 || l > cfg.NumClasses {
			return fmt.Errorf("gorgoniaref: label %d outside 0..%d", l, cfg.NumClasses)
		}
		oh[i*(cfg.NumClasses+1)+l] = 1
	}
	return G.Let(net.OneHot, net.dense(oh, net.N, cfg.NumClasses+1))
}

// dense returns values as a tensor of the graph's dtype.
func (net *Net) dense(v []float32, shape ...int) tensor.Tensor {
	if net.Dtype == tensor.Float32 {
		return tensor.New(tensor.WithShape(shape...), tensor.WithBacking(append([]float32(nil), v...)))
	}
	d := make([]float64, len(v))
	for i, x := range v {
		d[i] = float64(x)
	}
	return tensor.New(tensor.WithShape(shape...), tensor.WithBacking(d))
}

// Float64s returns a node's value as float64s.
func Float64s(v G.Value) ([]float64, error) {
	a, err := toArr(v)
	if err != nil {
		return nil, err
	}
	return append([]float64(nil), a.data...), nil
}

// finite reports whether every value is finite.
func finite(v []float64) bool {
	for _, x := range v {
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return false
		}
	}
	return true
}
