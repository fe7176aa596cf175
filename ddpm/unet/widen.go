package unet

import (
	"fmt"
	"maps"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
)

// Widen returns a copy of m with more channels at some levels: cfg must be
// m's config with each channel mult a whole multiple of the old one. Every
// channel of a widened level is repeated (channel c becomes k adjacent
// channels), and each weight that reads a repeated channel is split among its
// copies in random shares that sum to one (Net2WiderNet, Chen et al. 2016):
// the copies compute the same function yet get different gradients, so
// training can make them differ. Repeating each channel in place keeps every
// GroupNorm group an exact k-fold copy of an old one wherever the widening is
// uniform, so widening every level by the same factor computes the same
// function up to rounding. Widening neighbouring levels by different factors
// does not: going up, the GroupNorm over the concatenation [h, skip] then
// mixes old groups, which training has to repair.
func Widen(m *Model, cfg Config, seed uint64) (*Model, error) {
	old := m.Config
	if len(cfg.Mults) != len(old.Mults) {
		return nil, fmt.Errorf("unet: %d channel mults for a network of %d levels", len(cfg.Mults), len(old.Mults))
	}
	if cfg.ImageSize != old.ImageSize || cfg.InChannels != old.InChannels || cfg.Channels != old.Channels ||
		cfg.NumResBlocks != old.NumResBlocks || cfg.Attention != old.Attention || cfg.Groups != old.Groups ||
		cfg.NumClasses != old.NumClasses || cfg.EmbScale != old.EmbScale {
		return nil, fmt.Errorf("unet: can only widen %s by its channel mults (got %s)", old, cfg)
	}
	for i, mult := range cfg.Mults {
		if mult%old.Mults[i] != 0 {
			return nil, fmt.Errorf("unet: channel mult %d of level %d is not a whole multiple of the old %d", mult, i, old.Mults[i])
		}
	}
	w, err := build(cfg, m.Backend)
	if err != nil {
		return nil, err
	}
	byName := m.weightsByName()
	plan := widenPlan(old, cfg)
	for _, name := range slices.Sorted(maps.Keys(plan)) {
		if w.Param(name) == nil {
			block, _, _ := strings.Cut(name, ".skip.")
			return nil, fmt.Errorf("unet: channel mults %v would make %s as wide at its input as at its output, leaving no place for its 1×1 skip conv: keep neighbouring levels that differ in %v different", cfg.Mults, block, old.Mults)
		}
	}
	rnd := rand.New(rand.NewPCG(seed, 0x3edde9))
	var missing error
	w.allocate(func(q *Param, dst []float32) {
		src, ok := byName[q.Name]
		s, planned := plan[q.Name]
		switch {
		case planned:
			s.fill(dst, src, q.Shape, rnd.Float64)
		case ok && len(src) == len(dst):
			copy(dst, src)
		default:
			missing = fmt.Errorf("unet: no rule to widen %s %v", q.Name, q.Shape)
		}
	})
	if missing != nil {
		return nil, missing
	}
	return w, nil
}

// chans maps each channel of a widened tensor to the channel of the old
// tensor it copies.
type chans []int

func sameChans(n int) chans {
	c := make(chans, n)
	for i := range c {
		c[i] = i
	}
	return c
}

// old is the number of channels of the old tensor.
func (c chans) old() int { return slices.Max(c) + 1 }

// repeated is n old channels each repeated k times in place.
func repeated(n, k int) chans {
	c := make(chans, n*k)
	for i := range c {
		c[i] = i / k
	}
	return c
}

// concat is the channels of [a, b], b's old channels numbered after a's.
func concat(a, b chans) chans {
	na := a.old()
	c := slices.Clone(a)
	for _, j := range b {
		c = append(c, na+j)
	}
	return c
}

// widening says how one parameter of the wide network comes from the old one.
type widening struct {
	out, in chans   // output and input channels (in nil for a vector)
	ident   bool    // the old network had no such parameter: an identity 1×1 conv (zero bias)
	scale   float32 // multiplies the q rows of an attention block's qkv (0: none)
}

// fill writes the widened parameter of shape into dst from the old values.
func (s widening) fill(dst, old []float32, shape []int, rnd func() float64) {
	if s.in == nil { // a vector over the output channels
		for o, j := range s.out {
			if !s.ident {
				dst[o] = old[j] * s.rowScale(o)
			}
		}
		return
	}
	rest := numel(shape[2:])
	// copies[j] lists the new input channels that repeat old channel j.
	oldIn := s.in.old()
	copies := make([][]int, oldIn)
	for i, j := range s.in {
		copies[j] = append(copies[j], i)
	}
	share := make([]float64, 0, 8)
	nin := len(s.in)
	for o, jo := range s.out {
		for ji, news := range copies {
			for r := range rest {
				var v float32
				switch {
				case s.ident && ji == jo:
					v = 1
				case !s.ident:
					v = old[(jo*oldIn+ji)*rest+r] * s.rowScale(o)
				}
				share = share[:0]
				sum := 0.0
				for range news {
					x := 0.5 + rnd()
					share = append(share, x)
					sum += x
				}
				for k, i := range news {
					dst[(o*nin+i)*rest+r] = v * float32(share[k]/sum)
				}
			}
		}
	}
}

func (s widening) rowScale(o int) float32 {
	if s.scale != 0 && o < len(s.out)/3 {
		return s.scale
	}
	return 1
}

// widenPlan lists, by parameter name, how the parameters that touch a
// widened level come from the old network, walking the network like build.
func widenPlan(old, cfg Config) map[string]widening {
	plan := map[string]widening{}
	level := make([]chans, len(cfg.Mults))
	for i := range cfg.Mults {
		level[i] = repeated(old.Channels*old.Mults[i], cfg.Mults[i]/old.Mults[i])
	}
	conv := func(name string, out, in chans) {
		plan[name+".weight"] = widening{out: out, in: in}
		plan[name+".bias"] = widening{out: out}
	}
	norm := func(name string, c chans) {
		plan[name+".weight"] = widening{out: c}
		plan[name+".bias"] = widening{out: c}
	}
	td := sameChans(cfg.TimeDim())
	res := func(name string, in, out chans) {
		norm(name+".norm1", in)
		conv(name+".conv1", out, in)
		conv(name+".temb_proj", out, td)
		if cfg.EmbScale {
			conv(name+".temb_scale", out, td)
		}
		norm(name+".norm2", out)
		conv(name+".conv2", out, out)
		switch {
		case in.old() != out.old():
			conv(name+".skip", out, in)
		case len(in) != len(out): // the old block added its input as it was
			plan[name+".skip.weight"] = widening{out: out, in: in, ident: true}
			plan[name+".skip.bias"] = widening{out: out, ident: true}
		}
	}
	ch := sameChans(cfg.Channels)
	conv("conv_in", ch, sameChans(cfg.InChannels))
	for i := range cfg.Mults {
		for r := 0; r < cfg.NumResBlocks; r++ {
			res(fmt.Sprintf("down.%d.res.%d", i, r), ch, level[i])
			ch = level[i]
		}
		if i < len(cfg.Mults)-1 {
			conv(fmt.Sprintf("down.%d.downsample", i), ch, ch)
		}
	}
	res("mid.res.0", ch, ch)
	if cfg.Attention {
		norm("mid.attn.norm", ch)
		qkv := concat(concat(ch, ch), ch)
		// qᵀk sums over k times as many channels and is divided by √k more:
		// q's rows shrink by 1/√k to keep the scores.
		k := float64(len(ch)) / float64(ch.old())
		scale := float32(1 / math.Sqrt(k))
		plan["mid.attn.qkv.weight"] = widening{out: qkv, in: ch, scale: scale}
		plan["mid.attn.qkv.bias"] = widening{out: qkv, scale: scale}
		conv("mid.attn.proj", ch, ch)
	}
	res("mid.res.1", ch, ch)
	for i := len(cfg.Mults) - 1; i >= 0; i-- {
		in := concat(ch, level[i])
		for r := 0; r < cfg.NumResBlocks; r++ {
			res(fmt.Sprintf("up.%d.res.%d", i, r), in, level[i])
			in = level[i]
		}
		ch = level[i]
	}
	norm("out_norm", ch)
	conv("conv_out", sameChans(cfg.InChannels), ch)
	return plan
}

// AddEmbScale returns a copy of m with Config.EmbScale on: every parameter
// of m carried over, and each residual block's new embedding scale at zero,
// so the copy computes m's function exactly until training moves the scales.
func AddEmbScale(m *Model) (*Model, error) {
	if m.Config.EmbScale {
		return nil, fmt.Errorf("unet: the network already has the embedding scale (%s)", m.Config)
	}
	cfg := m.Config
	cfg.EmbScale = true
	s, err := build(cfg, m.Backend)
	if err != nil {
		return nil, err
	}
	byName := m.weightsByName()
	s.allocate(func(q *Param, w []float32) {
		if old, ok := byName[q.Name]; ok {
			copy(w, old)
		} // the new scales stay at zero, as allocate hands w out
	})
	return s, nil
}

// weightsByName returns a host copy of m's weights, by parameter name.
func (m *Model) weightsByName() map[string][]float32 {
	all := make([]float32, m.NumParams())
	m.Backend.Download(all, m.Weights)
	byName := map[string][]float32{}
	off := 0
	for _, p := range m.Params {
		n := numel(p.Shape)
		byName[p.Name] = all[off : off+n]
		off += n
	}
	return byName
}
