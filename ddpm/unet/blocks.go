package unet

import (
	"fmt"
	"math"

	"github.com/ddpm-go/ddpm/ddpm/nn"
)

// resBlock is GroupNorm → SiLU → Conv3×3 → + Linear(SiLU(temb)) → GroupNorm →
// [× (1 + Linear(SiLU(temb))) with Config.EmbScale] → SiLU → Conv3×3, plus
// the input (through a 1×1 conv when channels change).
type resBlock struct {
	norm1       *groupNorm
	act1        silu
	conv1       *conv2d
	tact        silu
	tproj       *linear
	tscale      *linear // nil without Config.EmbScale
	norm2       *groupNorm
	act2        silu
	conv2       *conv2d
	skip        *conv2d // nil when in == out
	x           *nn.Tensor
	h1, out, dx *nn.Tensor
	hs, dhs, ds *nn.Tensor // the scaled norm2 output and the scale's gradients
	dtv         *nn.Tensor
}

func newResBlock(p *params, name string, groups, in, out, tdim int, embScale bool) *resBlock {
	r := &resBlock{
		norm1: newGroupNorm(p, name+".norm1", groups, in),
		conv1: newConv(p, name+".conv1", in, out, 3, 1),
		tproj: newLinear(p, name+".temb_proj", tdim, out),
	}
	if embScale {
		r.tscale = newLinear(p, name+".temb_scale", tdim, out)
		r.tscale.w.init, r.tscale.b.init = constInit(0), constInit(0)
	}
	r.norm2 = newGroupNorm(p, name+".norm2", groups, out)
	r.conv2 = newConv(p, name+".conv2", out, out, 3, 1)
	if in != out {
		r.skip = newConv(p, name+".skip", in, out, 1, 1)
	}
	return r
}

func (r *resBlock) forward(be nn.Backend, x, temb *nn.Tensor) *nn.Tensor {
	r.x = x
	h := r.conv1.forward(be, r.act1.forward(be, r.norm1.forward(be, x)))
	te := r.tact.forward(be, temb)
	tv := r.tproj.forward(be, te)
	h1 := ensure(be, &r.h1, h.Shape...)
	be.AddChannels(h1, h, tv)
	h = r.norm2.forward(be, h1)
	if r.tscale != nil {
		hs := ensure(be, &r.hs, h.Shape...)
		be.ScaleChannels(hs, h, r.tscale.forward(be, te))
		h = hs
	}
	h = r.conv2.forward(be, r.act2.forward(be, h))
	s := x
	if r.skip != nil {
		s = r.skip.forward(be, x)
	}
	out := ensure(be, &r.out, h.Shape...)
	be.Add(out, h, s)
	return out
}

// backward returns dx and adds the time-embedding gradient into dtemb.
func (r *resBlock) backward(be nn.Backend, dout, dtemb *nn.Tensor) *nn.Tensor {
	dh := r.act2.backward(be, r.conv2.backward(be, dout, true))
	var dte *nn.Tensor // the scale's gradient with respect to SiLU(temb)
	if r.tscale != nil {
		dscale := ensure(be, &r.ds, dh.Shape[0], dh.Shape[1])
		be.Zero(dscale)
		be.DotChannels(dscale, dh, r.norm2.y)
		dte = r.tscale.backward(be, dscale)
		dhs := ensure(be, &r.dhs, dh.Shape...)
		be.ScaleChannels(dhs, dh, r.tscale.y)
		dh = dhs
	}
	dh = r.norm2.backward(be, dh)
	dtv := ensure(be, &r.dtv, dh.Shape[0], dh.Shape[1])
	be.Zero(dtv)
	be.SumChannels(dtv, dh)
	dtt := r.tproj.backward(be, dtv)
	if dte != nil {
		be.Add(dtt, dtt, dte)
	}
	be.Axpy(dtemb, 1, r.tact.backward(be, dtt))
	dh = r.norm1.backward(be, r.act1.backward(be, r.conv1.backward(be, dh, true)))
	dx := ensure(be, &r.dx, r.x.Shape...)
	ds := dout
	if r.skip != nil {
		ds = r.skip.backward(be, dout, true)
	}
	be.Add(dx, dh, ds)
	return dx
}

// attnBlock is single-head self-attention over the pixels of a feature map,
// with a residual connection: x + proj(softmax(qᵀk/√C)·v).
type attnBlock struct {
	norm      *groupNorm
	qkv, proj *conv2d
	x         *nn.Tensor
	p, a, out *nn.Tensor // attention weights [N,L,L], attended values [N,C,L], output
	dqkv, dp  *nn.Tensor
	ds, dx    *nn.Tensor
}

func newAttnBlock(p *params, name string, groups, ch int) *attnBlock {
	return &attnBlock{
		norm: newGroupNorm(p, name+".norm", groups, ch),
		qkv:  newConv(p, name+".qkv", ch, 3*ch, 1, 1),
		proj: newConv(p, name+".proj", ch, ch, 1, 1),
	}
}

func (b *attnBlock) forward(be nn.Backend, x *nn.Tensor) *nn.Tensor {
	b.x = x
	n, c, l := x.Shape[0], x.Shape[1], x.Shape[2]*x.Shape[3]
	qkv := b.qkv.forward(be, b.norm.forward(be, x))
	p := ensure(be, &b.p, n, l, l)
	scale := float32(1 / math.Sqrt(float64(c)))
	q, k, v := b.qkvMat(qkv, 0), b.qkvMat(qkv, 1), b.qkvMat(qkv, 2)
	q.Trans = true
	be.GEMM(l, l, c, n, scale, q, k, 0, nn.Mat{T: p, Ld: l, Stride: l * l}) // scores
	be.SoftmaxRows(p, p)
	a := ensure(be, &b.a, n, c, x.Shape[2], x.Shape[3])
	be.GEMM(c, l, l, n, 1, v, nn.Mat{T: p, Ld: l, Stride: l * l, Trans: true}, 0, nn.Mat{T: a, Ld: l, Stride: c * l})
	o := b.proj.forward(be, a)
	out := ensure(be, &b.out, x.Shape...)
	be.Add(out, x, o)
	return out
}

// qkvMat is the i-th of q, k, v inside the qkv conv output, as a batch of C×L matrices.
func (b *attnBlock) qkvMat(t *nn.Tensor, i int) nn.Mat {
	c, l := t.Shape[1]/3, t.Shape[2]*t.Shape[3]
	return nn.Mat{T: t, Off: i * c * l, Ld: l, Stride: 3 * c * l}
}

func (b *attnBlock) backward(be nn.Backend, dout *nn.Tensor) *nn.Tensor {
	x := b.x
	n, c, l := x.Shape[0], x.Shape[1], x.Shape[2]*x.Shape[3]
	scale := float32(1 / math.Sqrt(float64(c)))
	da := b.proj.backward(be, dout, true)
	qkv := b.qkv.y
	dqkv := ensure(be, &b.dqkv, qkv.Shape...)
	dp := ensure(be, &b.dp, n, l, l)
	ds := ensure(be, &b.ds, n, l, l)
	pm := nn.Mat{T: b.p, Ld: l, Stride: l * l}
	dam := nn.Mat{T: da, Ld: l, Stride: c * l}
	q, k, v := b.qkvMat(qkv, 0), b.qkvMat(qkv, 1), b.qkvMat(qkv, 2)
	dq, dk, dv := b.qkvMat(dqkv, 0), b.qkvMat(dqkv, 1), b.qkvMat(dqkv, 2)
	be.GEMM(c, l, l, n, 1, dam, pm, 0, dv) // dV = dA·P
	dam.Trans = true
	be.GEMM(l, l, c, n, 1, dam, v, 0, nn.Mat{T: dp, Ld: l, Stride: l * l}) // dP = dAᵀ·V
	be.SoftmaxRowsBackward(ds, dp, b.p)
	dsm := nn.Mat{T: ds, Ld: l, Stride: l * l}
	be.GEMM(c, l, l, n, scale, q, dsm, 0, dk) // dK = s·Q·dS
	dsm.Trans = true
	be.GEMM(c, l, l, n, scale, k, dsm, 0, dq) // dQ = s·K·dSᵀ
	dh := b.norm.backward(be, b.qkv.backward(be, dqkv, true))
	dx := ensure(be, &b.dx, x.Shape...)
	be.Add(dx, dout, dh)
	return dx
}

func checkShape(what string, got []int, want ...int) error {
	if !equalShape(got, want) {
		return fmt.Errorf("unet: %s has shape %v, want %v", what, got, want)
	}
	return nil
}
