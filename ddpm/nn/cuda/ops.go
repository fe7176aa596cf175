//go:build linux && (amd64 || arm64)

package cuda

import (
	"fmt"
	"runtime"
	"time"
	"unsafe"

	"github.com/ddpm-go/ddpm/ddpm/nn"
)

// The nn.Backend methods. Each runs its kernels on the GPU's thread; shapes
// follow the CPU backend's conventions (ddpm/nn).

// New implements nn.Backend.
func (g *GPU) New(shape ...int) *nn.Tensor {
	t := &nn.Tensor{Shape: append([]int(nil), shape...)}
	n := t.Len()
	if g.sinceGC.Add(uint64(4*n)) > g.info.Memory/4 {
		g.sinceGC.Store(0)
		runtime.GC() // tensors dropped since the last collection give their memory back
	}
	var err error
	for try := 0; ; try++ {
		g.run(func() {
			var m *devMem
			if m, err = g.tryAlloc(uint64(4 * n)); err == nil {
				fail(g.cu.check("cuMemsetD32", g.cu.MemsetD32(m.ptr, 0, uint64(max(n, 1)))))
				t.Dev = &devView{mem: m}
			}
		})
		if err == nil {
			return t
		}
		if try == 3 {
			fail(err)
		}
		runtime.GC() // and let the cleanups of unreachable tensors run before trying again
		time.Sleep(50 * time.Millisecond)
	}
}

// View implements nn.Backend.
func (g *GPU) View(t *nn.Tensor, off int, shape ...int) *nn.Tensor {
	v := t.Dev.(*devView)
	out := &nn.Tensor{Shape: append([]int(nil), shape...)}
	if off < 0 || off+out.Len() > t.Len() {
		panic(fmt.Sprintf("cuda: view [%d:%d] outside %v", off, off+out.Len(), t))
	}
	out.Dev = &devView{mem: v.mem, off: v.off + off}
	return out
}

// Upload implements nn.Backend.
func (g *GPU) Upload(dst *nn.Tensor, src []float32) {
	n := min(len(src), dst.Len())
	if n == 0 {
		return
	}
	g.run(func() {
		fail(g.cu.check("cuMemcpyHtoD", g.cu.MemcpyHtoD(ptr(dst), unsafe.Pointer(&src[0]), uint64(4*n))))
	})
}

// Download implements nn.Backend.
func (g *GPU) Download(dst []float32, src *nn.Tensor) {
	n := min(len(dst), src.Len())
	if n == 0 {
		return
	}
	g.run(func() {
		fail(g.cu.check("cuMemcpyDtoH", g.cu.MemcpyDtoH(unsafe.Pointer(&dst[0]), ptr(src), uint64(4*n))))
	})
}

// Zero implements nn.Backend.
func (g *GPU) Zero(t *nn.Tensor) {
	if t.Len() > 0 {
		g.run(func() { fail(g.cu.check("cuMemsetD32", g.cu.MemsetD32(ptr(t), 0, uint64(t.Len())))) })
	}
}

// Copy implements nn.Backend.
func (g *GPU) Copy(dst, src *nn.Tensor) {
	if n := min(dst.Len(), src.Len()); n > 0 {
		g.run(func() { fail(g.cu.check("cuMemcpyDtoD", g.cu.MemcpyDtoD(ptr(dst), ptr(src), uint64(4*n)))) })
	}
}

// convShape is the geometry of a convolution of x [N,C,H,W] by w [Cout,C,K,K] into [N,Cout,Ho,Wo].
type convShape struct{ n, c, h, w, cout, k, ho, wo int }

func convOf(x, w, y *nn.Tensor) convShape {
	return convShape{x.Shape[0], x.Shape[1], x.Shape[2], x.Shape[3], w.Shape[0], w.Shape[2], y.Shape[2], y.Shape[3]}
}

// Conv2D implements nn.Backend: im2col of the whole batch into [C·K·K, N·L],
// one GEMM with the weights into [Cout, N·L], then a transpose into NCHW
// that adds the bias.
func (g *GPU) Conv2D(y, x, w, b *nn.Tensor, stride, pad int) {
	s := convOf(x, w, y)
	ckk, nl := s.c*s.k*s.k, s.n*s.ho*s.wo
	g.run(func() {
		col, t := g.scratch(colBuf, ckk*nl), g.scratch(cnlBuf, s.cout*nl)
		g.launch("im2col", ckk*nl, ptr(x), col, s.n, s.c, s.h, s.w, s.k, stride, pad, s.ho, s.wo)
		g.gemm(false, false, s.cout, nl, ckk, 1, 1, ptr(w), ckk, 0, col, nl, 0, 0, t, nl, 0)
		g.launch("cl_to_ncl", s.cout*nl, t, ptr(b), ptr(y), s.n, s.cout, s.ho*s.wo)
	})
}

// Conv2DBackward implements nn.Backend.
func (g *GPU) Conv2DBackward(dx, dw, db, dy, x, w *nn.Tensor, stride, pad int) {
	s := convOf(x, w, dy)
	ckk, nl := s.c*s.k*s.k, s.n*s.ho*s.wo
	g.run(func() {
		t := g.scratch(cnlBuf, s.cout*nl) // dy as [Cout, N·L]
		g.launch("ncl_to_cl", s.cout*nl, ptr(dy), t, s.n, s.cout, s.ho*s.wo)
		if db != nil {
			g.launchBlocks("row_sum_add", s.cout, t, ptr(db), s.cout, nl)
		}
		if dw != nil {
			col := g.scratch(colBuf, ckk*nl)
			g.launch("im2col", ckk*nl, ptr(x), col, s.n, s.c, s.h, s.w, s.k, stride, pad, s.ho, s.wo)
			g.gemm(false, true, s.cout, ckk, nl, 1, 1, t, nl, 0, col, nl, 0, 1, ptr(dw), ckk, 0)
		}
		if dx != nil {
			dcol := g.scratch(dcolBuf, ckk*nl)
			g.gemm(true, false, ckk, nl, s.cout, 1, 1, ptr(w), ckk, 0, t, nl, 0, 0, dcol, nl, 0)
			g.launch("col2im", dx.Len(), dcol, ptr(dx), s.n, s.c, s.h, s.w, s.k, stride, pad, s.ho, s.wo)
		}
	})
}

// Linear implements nn.Backend.
func (g *GPU) Linear(y, x, w, b *nn.Tensor) {
	n, in, out := x.Shape[0], x.Shape[1], w.Shape[0]
	g.run(func() {
		g.gemm(false, true, n, out, in, 1, 1, ptr(x), in, 0, ptr(w), in, 0, 0, ptr(y), out, 0)
		if b != nil {
			g.launch("add_row_bias", n*out, ptr(y), ptr(b), n, out)
		}
	})
}

// LinearBackward implements nn.Backend.
func (g *GPU) LinearBackward(dx, dw, db, dy, x, w *nn.Tensor) {
	n, in, out := x.Shape[0], x.Shape[1], w.Shape[0]
	g.run(func() {
		if dx != nil {
			g.gemm(false, false, n, in, out, 1, 1, ptr(dy), out, 0, ptr(w), in, 0, 0, ptr(dx), in, 0)
		}
		if dw != nil {
			g.gemm(true, false, out, in, n, 1, 1, ptr(dy), out, 0, ptr(x), in, 0, 1, ptr(dw), in, 0)
		}
		if db != nil {
			g.launch("col_sum_add", out, ptr(dy), ptr(db), n, out)
		}
	})
}

// GEMM implements nn.Backend.
func (g *GPU) GEMM(m, n, k, batch int, alpha float32, a, b nn.Mat, beta float32, c nn.Mat) {
	g.run(func() {
		g.gemm(a.Trans, b.Trans, m, n, k, batch, alpha,
			ptr(a.T)+uintptr(4*a.Off), a.Ld, a.Stride,
			ptr(b.T)+uintptr(4*b.Off), b.Ld, b.Stride,
			beta, ptr(c.T)+uintptr(4*c.Off), c.Ld, c.Stride)
	})
}

// GroupNorm implements nn.Backend.
func (g *GPU) GroupNorm(y, mean, rstd, x, gamma, beta *nn.Tensor, groups int, eps float32) {
	n, c := x.Shape[0], x.Shape[1]
	size := x.Len() / (n * c)
	g.run(func() {
		g.launchBlocks("groupnorm", n*groups, ptr(y), ptr(mean), ptr(rstd), ptr(x), ptr(gamma), ptr(beta), n, c, groups, size, eps)
	})
}

// GroupNormBackward implements nn.Backend.
func (g *GPU) GroupNormBackward(dx, dgamma, dbeta, dy, x, mean, rstd, gamma *nn.Tensor, groups int) {
	n, c := x.Shape[0], x.Shape[1]
	size := x.Len() / (n * c)
	g.run(func() {
		g.launchBlocks("groupnorm_params", c, ptr(dgamma), ptr(dbeta), ptr(dy), ptr(x), ptr(mean), ptr(rstd), n, c, groups, size)
		if dx != nil {
			g.launchBlocks("groupnorm_input", n*groups, ptr(dx), ptr(dy), ptr(x), ptr(mean), ptr(rstd), ptr(gamma), n, c, groups, size)
		}
	})
}

// SiLU implements nn.Backend.
func (g *GPU) SiLU(y, sig, x *nn.Tensor) {
	g.run(func() { g.launch("silu", x.Len(), ptr(y), ptr(sig), ptr(x), x.Len()) })
}

// SiLUBackward implements nn.Backend.
func (g *GPU) SiLUBackward(dx, dy, x, sig *nn.Tensor) {
	g.run(func() { g.launch("silu_backward", x.Len(), ptr(dx), ptr(dy), ptr(x), ptr(sig), x.Len()) })
}

// SoftmaxRows implements nn.Backend.
func (g *GPU) SoftmaxRows(y, x *nn.Tensor) {
	d := x.Shape[len(x.Shape)-1]
	g.run(func() { g.launch("softmax_rows", x.Len()/d, ptr(y), ptr(x), x.Len()/d, d) })
}

// SoftmaxRowsBackward implements nn.Backend.
func (g *GPU) SoftmaxRowsBackward(dx, dy, y *nn.Tensor) {
	d := y.Shape[len(y.Shape)-1]
	g.run(func() { g.launch("softmax_rows_backward", y.Len()/d, ptr(dx), ptr(dy), ptr(y), y.Len()/d, d) })
}

// Add implements nn.Backend.
func (g *GPU) Add(y, a, b *nn.Tensor) {
	g.run(func() { g.launch("add", y.Len(), ptr(y), ptr(a), ptr(b), y.Len()) })
}

// Axpy implements nn.Backend.
func (g *GPU) Axpy(y *nn.Tensor, alpha float32, x *nn.Tensor) {
	g.run(func() { g.launch("axpy", y.Len(), ptr(y), alpha, ptr(x), y.Len()) })
}

// AddChannels implements nn.Backend.
func (g *GPU) AddChannels(y, x, v *nn.Tensor) {
	planes := v.Len()
	g.run(func() { g.launch("add_channels", x.Len(), ptr(y), ptr(x), ptr(v), planes, x.Len()/planes) })
}

// SumChannels implements nn.Backend.
func (g *GPU) SumChannels(dv, dy *nn.Tensor) {
	planes := dv.Len()
	g.run(func() { g.launchBlocks("row_sum_add", planes, ptr(dy), ptr(dv), planes, dy.Len()/planes) })
}

// ScaleChannels implements nn.Backend.
func (g *GPU) ScaleChannels(y, x, s *nn.Tensor) {
	planes := s.Len()
	g.run(func() { g.launch("scale_channels", x.Len(), ptr(y), ptr(x), ptr(s), planes, x.Len()/planes) })
}

// DotChannels implements nn.Backend.
func (g *GPU) DotChannels(ds, dy, x *nn.Tensor) {
	planes := ds.Len()
	g.run(func() { g.launchBlocks("row_dot_add", planes, ptr(dy), ptr(x), ptr(ds), planes, dy.Len()/planes) })
}

// Concat implements nn.Backend.
func (g *GPU) Concat(y, a, b *nn.Tensor) {
	n := y.Shape[0]
	g.run(func() { g.launch("concat", y.Len(), ptr(y), ptr(a), ptr(b), n, a.Len()/n, b.Len()/n) })
}

// Split implements nn.Backend.
func (g *GPU) Split(da, db, dy *nn.Tensor) {
	n := dy.Shape[0]
	g.run(func() { g.launch("split", dy.Len(), ptr(da), ptr(db), ptr(dy), n, da.Len()/n, db.Len()/n) })
}

// Upsample2x implements nn.Backend.
func (g *GPU) Upsample2x(y, x *nn.Tensor) {
	planes, h, w := x.Shape[0]*x.Shape[1], x.Shape[2], x.Shape[3]
	g.run(func() { g.launch("upsample2x", y.Len(), ptr(y), ptr(x), planes, h, w) })
}

// Upsample2xBackward implements nn.Backend.
func (g *GPU) Upsample2xBackward(dx, dy *nn.Tensor) {
	planes, h, w := dx.Shape[0]*dx.Shape[1], dx.Shape[2], dx.Shape[3]
	g.run(func() { g.launch("upsample2x_backward", dx.Len(), ptr(dx), ptr(dy), planes, h, w) })
}

// uploadIDs copies ids to the small scratch buffer (on the GPU's thread).
func (g *GPU) uploadIDs(ids []int) uintptr {
	g.ids = g.ids[:0]
	for _, id := range ids {
		g.ids = append(g.ids, int32(id))
	}
	p := g.scratch(smallBuf, len(ids))
	fail(g.cu.check("cuMemcpyHtoD", g.cu.MemcpyHtoD(p, unsafe.Pointer(&g.ids[0]), uint64(4*len(ids)))))
	return p
}

// Embedding implements nn.Backend.
func (g *GPU) Embedding(y, table *nn.Tensor, ids []int) {
	if len(ids) == 0 {
		return
	}
	d := table.Shape[1]
	g.run(func() { g.launch("embedding", len(ids)*d, ptr(y), ptr(table), g.uploadIDs(ids), len(ids), d) })
}

// EmbeddingBackward implements nn.Backend.
func (g *GPU) EmbeddingBackward(dtable, dy *nn.Tensor, ids []int) {
	if len(ids) == 0 {
		return
	}
	d := dtable.Shape[1]
	g.run(func() { g.launch("embedding_backward", d, ptr(dtable), ptr(dy), g.uploadIDs(ids), len(ids), d) })
}

// MSE implements nn.Backend. Each block sums the squares of a slice in
// double; the partial sums come back and are added on the host.
func (g *GPU) MSE(grad, pred, target *nn.Tensor) float64 {
	n := pred.Len()
	blocks := max(1, min((n+blockSize-1)/blockSize, 256))
	part := make([]float64, blocks)
	g.run(func() {
		p := g.scratch(smallBuf, 2*blocks) // float64s
		g.launchBlocks("mse", blocks, ptr(grad), ptr(pred), ptr(target), n, 2/float32(n), p, blocks)
		fail(g.cu.check("cuMemcpyDtoH", g.cu.MemcpyDtoH(unsafe.Pointer(&part[0]), p, uint64(8*blocks))))
	})
	var sum float64
	for _, s := range part {
		sum += s
	}
	return sum / float64(n)
}

// Adam implements nn.Backend with the CPU's formula (nn.AdamScales).
func (g *GPU) Adam(p, grad, m, v *nn.Tensor, lr, beta1, beta2, eps float64, step int) {
	stepSize, sqrtC2 := nn.AdamScales(lr, beta1, beta2, step)
	g.run(func() {
		g.launch("adam", p.Len(), ptr(p), ptr(grad), ptr(m), ptr(v), p.Len(),
			float32(beta1), float32(beta2), stepSize, sqrtC2, float32(eps))
	})
}

// EMA implements nn.Backend.
func (g *GPU) EMA(avg, p *nn.Tensor, decay float64) {
	g.run(func() { g.launch("ema", p.Len(), ptr(avg), ptr(p), p.Len(), float32(decay)) })
}
