package unet

import (
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/ddpm-go/ddpm/ddpm/nn"
)

// Model is the U-Net with its parameters, gradients and the activations of
// the last forward pass (kept for Backward). A Model is not safe for
// concurrent use.
type Model struct {
	Config  Config
	Backend nn.Backend
	// Params lists every parameter in a fixed order; their W and G are views
	// into Weights and Grads.
	Params         []*Param
	Weights, Grads *nn.Tensor

	temb1, temb2 *linear
	tact         silu
	labelEmb     *Param
	convIn       *conv2d
	down         []*downLevel
	mid          [2]*resBlock
	attn         *attnBlock
	up           []*upLevel
	outNorm      *groupNorm
	outAct       silu
	convOut      *conv2d

	// per-batch state
	labels          []int
	tsin, temb      *nn.Tensor
	emb, dtemb      *nn.Tensor
	input           *nn.Tensor
	skips, cats     []*nn.Tensor
	ups, dcats, dhs []*nn.Tensor
	dskips          []*nn.Tensor
	hostBuf         []float32
}

type downLevel struct {
	res        []*resBlock
	downsample *conv2d // nil at the lowest level
}

type upLevel struct{ res []*resBlock }

// New builds a model with PyTorch-style random initial weights drawn from seed.
func New(cfg Config, be nn.Backend, seed uint64) (*Model, error) {
	m, err := build(cfg, be)
	if err != nil {
		return nil, err
	}
	rnd := rand.New(rand.NewPCG(seed, 0x5eed))
	m.allocate(func(q *Param, w []float32) { q.init(w, rnd.Float64) })
	return m, nil
}

// build lays out the network for cfg: its layers and the names and shapes
// of its parameters in Params, without allocating them (see allocate).
func build(cfg Config, be nn.Backend) (*Model, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	m := &Model{Config: cfg, Backend: be}
	var p params
	C, td, g := cfg.Channels, cfg.TimeDim(), cfg.Groups
	m.temb1 = newLinear(&p, "time_embed.0", td, td)
	m.temb2 = newLinear(&p, "time_embed.2", td, td)
	if cfg.NumClasses > 0 {
		m.labelEmb = p.add("label_embed.weight", normalInit, cfg.NumClasses+1, td)
	}
	m.convIn = newConv(&p, "conv_in", cfg.InChannels, C, 3, 1)
	ch := C
	var levelCh []int
	for i, mult := range cfg.Mults {
		lv := &downLevel{}
		out := C * mult
		for r := 0; r < cfg.NumResBlocks; r++ {
			lv.res = append(lv.res, newResBlock(&p, fmt.Sprintf("down.%d.res.%d", i, r), g, ch, out, td, cfg.EmbScale))
			ch = out
		}
		if i < len(cfg.Mults)-1 {
			lv.downsample = newConv(&p, fmt.Sprintf("down.%d.downsample", i), ch, ch, 3, 2)
		}
		levelCh = append(levelCh, ch)
		m.down = append(m.down, lv)
	}
	m.mid[0] = newResBlock(&p, "mid.res.0", g, ch, ch, td, cfg.EmbScale)
	if cfg.Attention {
		m.attn = newAttnBlock(&p, "mid.attn", g, ch)
	}
	m.mid[1] = newResBlock(&p, "mid.res.1", g, ch, ch, td, cfg.EmbScale)
	m.up = make([]*upLevel, len(cfg.Mults))
	for i := len(cfg.Mults) - 1; i >= 0; i-- {
		lv := &upLevel{}
		in := ch + levelCh[i]
		for r := 0; r < cfg.NumResBlocks; r++ {
			lv.res = append(lv.res, newResBlock(&p, fmt.Sprintf("up.%d.res.%d", i, r), g, in, levelCh[i], td, cfg.EmbScale))
			in = levelCh[i]
		}
		ch = levelCh[i]
		m.up[i] = lv
	}
	m.outNorm = newGroupNorm(&p, "out_norm", g, ch)
	m.convOut = newConv(&p, "conv_out", ch, cfg.InChannels, 3, 1)

	m.Params = p.list
	return m, nil
}

// allocate lays every parameter out in one flat buffer (so the optimiser is
// one kernel), with gradients beside it, and sets each parameter's values
// with fill.
func (m *Model) allocate(fill func(q *Param, w []float32)) {
	be := m.Backend
	total := 0
	for _, q := range m.Params {
		total += numel(q.Shape)
	}
	m.Weights, m.Grads = be.New(total), be.New(total)
	host := make([]float32, total)
	off := 0
	for _, q := range m.Params {
		n := numel(q.Shape)
		q.W = be.View(m.Weights, off, q.Shape...)
		q.G = be.View(m.Grads, off, q.Shape...)
		fill(q, host[off:off+n])
		off += n
	}
	be.Upload(m.Weights, host)
}

func normalInit(w []float32, rnd func() float64) {
	// Box–Muller from the uniform source, so init needs only one generator.
	for i := range w {
		u1, u2 := rnd(), rnd()
		w[i] = float32(math.Sqrt(-2*math.Log(1-u1)) * math.Cos(2*math.Pi*u2))
	}
}

func numel(shape []int) int {
	n := 1
	for _, d := range shape {
		n *= d
	}
	return n
}

// NumParams returns the number of scalar parameters.
func (m *Model) NumParams() int { return m.Weights.Len() }

// Param returns the parameter with the given name, or nil.
func (m *Model) Param(name string) *Param {
	for _, p := range m.Params {
		if p.Name == name {
			return p
		}
	}
	return nil
}

// TimestepEmbedding writes the sinusoidal embedding of each t into dst
// (len(ts)×dim): sines in the first half, cosines in the second, frequencies
// 1/10000^(2i/dim).
func TimestepEmbedding(dst []float32, ts []int, dim int) {
	half := dim / 2
	for n, t := range ts {
		row := dst[n*dim : (n+1)*dim]
		for i := 0; i < half; i++ {
			f := math.Exp(-math.Log(10000) * float64(i) / float64(half))
			row[i] = float32(math.Sin(float64(t) * f))
			row[half+i] = float32(math.Cos(float64(t) * f))
		}
	}
}

// Forward predicts the noise in x [N,InChannels,S,S] at timesteps ts (one per
// image) for class labels (one per image, NullLabel for none; nil for an
// unconditional model). The returned tensor is owned by the model and is
// overwritten by the next Forward.
func (m *Model) Forward(x *nn.Tensor, ts, labels []int) (*nn.Tensor, error) {
	be, cfg := m.Backend, m.Config
	n := x.Shape[0]
	if err := checkShape("input", x.Shape, n, cfg.InChannels, cfg.ImageSize, cfg.ImageSize); err != nil {
		return nil, err
	}
	if len(ts) != n {
		return nil, fmt.Errorf("unet: %d timesteps for %d images", len(ts), n)
	}
	if err := m.checkLabels(labels, n); err != nil {
		return nil, err
	}
	m.labels = labels
	td := cfg.TimeDim()
	if cap(m.hostBuf) < n*td {
		m.hostBuf = make([]float32, n*td)
	}
	TimestepEmbedding(m.hostBuf[:n*td], ts, td)
	tsin := ensure(be, &m.tsin, n, td)
	be.Upload(tsin, m.hostBuf[:n*td])
	temb := m.temb2.forward(be, m.tact.forward(be, m.temb1.forward(be, tsin)))
	if m.labelEmb != nil {
		emb := ensure(be, &m.emb, n, td)
		be.Embedding(emb, m.labelEmb.W, labels)
		sum := ensure(be, &m.temb, n, td)
		be.Add(sum, temb, emb)
		temb = sum
	} else {
		m.temb = temb
	}

	L := len(cfg.Mults)
	m.skips = resize(m.skips, L)
	m.cats = resize(m.cats, L)
	m.ups = resize(m.ups, L)
	h := m.convIn.forward(be, x)
	for i, lv := range m.down {
		for _, r := range lv.res {
			h = r.forward(be, h, temb)
		}
		m.skips[i] = h
		if lv.downsample != nil {
			h = lv.downsample.forward(be, h)
		}
	}
	h = m.mid[0].forward(be, h, temb)
	if m.attn != nil {
		h = m.attn.forward(be, h)
	}
	h = m.mid[1].forward(be, h, temb)
	for i := L - 1; i >= 0; i-- {
		s := m.skips[i]
		cat := ensure(be, &m.cats[i], n, h.Shape[1]+s.Shape[1], s.Shape[2], s.Shape[3])
		be.Concat(cat, h, s)
		h = cat
		for _, r := range m.up[i].res {
			h = r.forward(be, h, temb)
		}
		if i > 0 {
			up := ensure(be, &m.ups[i], n, h.Shape[1], 2*h.Shape[2], 2*h.Shape[3])
			be.Upsample2x(up, h)
			h = up
		}
	}
	return m.convOut.forward(be, m.outAct.forward(be, m.outNorm.forward(be, h))), nil
}

func (m *Model) checkLabels(labels []int, n int) error {
	if m.Config.NumClasses == 0 {
		if labels != nil {
			return fmt.Errorf("unet: labels given to an unconditional model")
		}
		return nil
	}
	if len(labels) != n {
		return fmt.Errorf("unet: %d labels for %d images (class-conditional model; use %d for none)", len(labels), n, m.Config.NullLabel())
	}
	for _, l := range labels {
		if l < 0 || l > m.Config.NumClasses {
			return fmt.Errorf("unet: label %d outside 0..%d", l, m.Config.NumClasses)
		}
	}
	return nil
}

func resize(s []*nn.Tensor, n int) []*nn.Tensor {
	for len(s) < n {
		s = append(s, nil)
	}
	return s[:n]
}

// ZeroGrad clears every parameter gradient.
func (m *Model) ZeroGrad() { m.Backend.Zero(m.Grads) }

// Backward adds the gradient of the loss to every parameter's G, given dout,
// the loss gradient with respect to the output of the last Forward.
func (m *Model) Backward(dout *nn.Tensor) {
	be, cfg := m.Backend, m.Config
	L := len(cfg.Mults)
	n := dout.Shape[0]
	dtemb := ensure(be, &m.dtemb, n, cfg.TimeDim())
	be.Zero(dtemb)
	m.dcats = resize(m.dcats, L)
	m.dhs = resize(m.dhs, L)
	m.dskips = resize(m.dskips, L)

	dh := m.outNorm.backward(be, m.outAct.backward(be, m.convOut.backward(be, dout, true)))
	for i := 0; i < L; i++ {
		if i > 0 {
			pre := m.up[i].res[len(m.up[i].res)-1].out
			d := ensure(be, &m.dhs[i], pre.Shape...)
			be.Upsample2xBackward(d, dh)
			dh = d
		}
		for r := len(m.up[i].res) - 1; r >= 0; r-- {
			dh = m.up[i].res[r].backward(be, dh, dtemb)
		}
		// dh is now the gradient of the concatenation [h, skip].
		s := m.skips[i]
		cat := m.cats[i]
		below := ensure(be, &m.dcats[i], n, cat.Shape[1]-s.Shape[1], s.Shape[2], s.Shape[3])
		ds := ensure(be, &m.dskips[i], s.Shape...)
		be.Split(below, ds, dh)
		dh = below
	}
	dh = m.mid[1].backward(be, dh, dtemb)
	if m.attn != nil {
		dh = m.attn.backward(be, dh)
	}
	dh = m.mid[0].backward(be, dh, dtemb)
	for i := L - 1; i >= 0; i-- {
		lv := m.down[i]
		if lv.downsample != nil {
			dh = lv.downsample.backward(be, dh, true)
		}
		be.Axpy(dh, 1, m.dskips[i])
		for r := len(lv.res) - 1; r >= 0; r-- {
			dh = lv.res[r].backward(be, dh, dtemb)
		}
	}
	m.convIn.backward(be, dh, false)

	if m.labelEmb != nil {
		be.EmbeddingBackward(m.labelEmb.G, dtemb, m.labels)
	}
	m.temb1.backward(be, m.tact.backward(be, m.temb2.backward(be, dtemb)))
}

// PredictNoise runs the network on host images; it implements ddpm.Denoiser.
func (m *Model) PredictNoise(eps, x []float32, n, t int, labels []int) error {
	cfg := m.Config
	if len(x) != n*cfg.Pixels() || len(eps) != len(x) {
		return fmt.Errorf("unet: PredictNoise got %d values for %d images of %d pixels", len(x), n, cfg.Pixels())
	}
	if cfg.NumClasses == 0 {
		labels = nil
	} else if labels == nil {
		labels = make([]int, n)
		for i := range labels {
			labels[i] = cfg.NullLabel()
		}
	}
	ts := make([]int, n)
	for i := range ts {
		ts[i] = t
	}
	return m.predict(eps, x, ts, labels)
}

// predict runs the network on host images, each at its own timestep.
func (m *Model) predict(eps, x []float32, ts, labels []int) error {
	cfg := m.Config
	in := ensure(m.Backend, &m.input, len(ts), cfg.InChannels, cfg.ImageSize, cfg.ImageSize)
	m.Backend.Upload(in, x)
	out, err := m.Forward(in, ts, labels)
	if err != nil {
		return err
	}
	m.Backend.Download(eps, out)
	return nil
}
