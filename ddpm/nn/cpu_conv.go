package nn

import "sync"

// Conv2D implements Backend: im2col and one GEMM per image, images spread
// over the workers.
func (CPU) Conv2D(y, x, w, b *Tensor, stride, pad int) {
	g := convGeom(x, w, y, stride, pad)
	parallel(g.n, 1, func(_, lo, hi int) {
		col := g.colBuf()
		defer g.putCol(col)
		for i := lo; i < hi; i++ {
			src := g.cols(x.Data[i*g.inSize:(i+1)*g.inSize], col)
			out := y.Data[i*g.outSize : (i+1)*g.outSize]
			sgemm(false, false, g.cout, g.l, g.kdim, 1, w.Data, g.kdim, src, g.l, 0, out, g.l)
			if b != nil {
				for c := 0; c < g.cout; c++ {
					bc := b.Data[c]
					row := out[c*g.l : (c+1)*g.l]
					for j := range row {
						row[j] += bc
					}
				}
			}
		}
	})
}

// Conv2DBackward implements Backend. Each worker sums its images' weight
// gradients privately; the partial sums are added at the end. For stride 1,
// dx is itself a convolution of dy with the flipped, transposed kernel, which
// keeps the GEMM's inner dimension large and needs no col2im.
func (CPU) Conv2DBackward(dx, dw, db, dy, x, w *Tensor, stride, pad int) {
	g := convGeom(x, w, dy, stride, pad)
	var gt *conv // dx = conv(dy, wt) when the transposed form applies
	var wt []float32
	if dx != nil && !g.direct && stride == 1 {
		wt = flipTranspose(w)
		gt = convGeom(dy, &Tensor{Shape: []int{g.cin, g.cout, g.k, g.k}}, dx, 1, g.k-1-pad)
	}
	nw := min(workers(), g.n)
	partial := make([][]float32, nw)
	parallel(g.n, 1, func(worker, lo, hi int) {
		col := g.colBuf()
		defer g.putCol(col)
		var dcol []float32
		if dx != nil && !g.direct {
			if gt != nil {
				dcol = gt.colBuf()
				defer gt.putCol(dcol)
			} else {
				dcol = g.colBuf()
				defer g.putCol(dcol)
			}
		}
		var pdw []float32
		if dw != nil {
			pdw = make([]float32, len(w.Data))
			partial[worker] = pdw
		}
		for i := lo; i < hi; i++ {
			dyi := dy.Data[i*g.outSize : (i+1)*g.outSize]
			if dw != nil {
				src := g.cols(x.Data[i*g.inSize:(i+1)*g.inSize], col)
				sgemm(false, true, g.cout, g.kdim, g.l, 1, dyi, g.l, src, g.l, 1, pdw, g.kdim)
			}
			if dx == nil {
				continue
			}
			dxi := dx.Data[i*g.inSize : (i+1)*g.inSize]
			switch {
			case g.direct:
				sgemm(true, false, g.kdim, g.l, g.cout, 1, w.Data, g.kdim, dyi, g.l, 0, dxi, g.l)
			case gt != nil:
				src := gt.cols(dyi, dcol)
				sgemm(false, false, gt.cout, gt.l, gt.kdim, 1, wt, gt.kdim, src, gt.l, 0, dxi, gt.l)
			default:
				sgemm(true, false, g.kdim, g.l, g.cout, 1, w.Data, g.kdim, dyi, g.l, 0, dcol, g.l)
				g.col2im(dcol, dxi)
			}
		}
	})
	if dw != nil {
		for _, p := range partial {
			for j, v := range p {
				dw.Data[j] += v
			}
		}
	}
	if db != nil {
		for i := 0; i < g.n; i++ {
			for c := 0; c < g.cout; c++ {
				var s float32
				for _, v := range dy.Data[i*g.outSize+c*g.l : i*g.outSize+(c+1)*g.l] {
					s += v
				}
				db.Data[c] += s
			}
		}
	}
}

// flipTranspose returns w [out,in,k,k] as [in,out,k,k] rotated by 180°.
func flipTranspose(w *Tensor) []float32 {
	out, in, k := w.Shape[0], w.Shape[1], w.Shape[2]
	wt := make([]float32, len(w.Data))
	for o := 0; o < out; o++ {
		for i := 0; i < in; i++ {
			src := w.Data[(o*in+i)*k*k : (o*in+i+1)*k*k]
			dst := wt[(i*out+o)*k*k : (i*out+o+1)*k*k]
			for j, v := range src {
				dst[k*k-1-j] = v
			}
		}
	}
	return wt
}

type conv struct {
	n, cin, h, w, cout, k, stride, pad, ho, wo int
	l, kdim, inSize, outSize                   int
	direct                                     bool // 1×1, stride 1: the image is its own column matrix
}

func convGeom(x, w, y *Tensor, stride, pad int) *conv {
	g := &conv{n: x.Shape[0], cin: x.Shape[1], h: x.Shape[2], w: x.Shape[3],
		cout: w.Shape[0], k: w.Shape[2], stride: stride, pad: pad}
	g.ho = (g.h+2*pad-g.k)/stride + 1
	g.wo = (g.w+2*pad-g.k)/stride + 1
	if y.Shape[2] != g.ho || y.Shape[3] != g.wo || w.Shape[1] != g.cin || y.Shape[1] != g.cout {
		panic("nn: conv shapes do not match: x" + x.String() + " w" + w.String() + " y" + y.String())
	}
	g.l = g.ho * g.wo
	g.kdim = g.cin * g.k * g.k
	g.inSize = g.cin * g.h * g.w
	g.outSize = g.cout * g.l
	g.direct = g.k == 1 && stride == 1 && pad == 0
	return g
}

var colPool sync.Pool

func (g *conv) colBuf() []float32 {
	if g.direct {
		return nil
	}
	n := g.kdim * g.l
	if p, ok := colPool.Get().(*[]float32); ok && cap(*p) >= n {
		return (*p)[:n]
	}
	return make([]float32, n)
}

func (g *conv) putCol(c []float32) {
	if c != nil {
		colPool.Put(&c)
	}
}

// cols returns the column matrix [cin·k·k, ho·wo] of one image.
func (g *conv) cols(img, col []float32) []float32 {
	if g.direct {
		return img
	}
	for c := 0; c < g.cin; c++ {
		plane := img[c*g.h*g.w : (c+1)*g.h*g.w]
		for ky := 0; ky < g.k; ky++ {
			for kx := 0; kx < g.k; kx++ {
				row := col[((c*g.k+ky)*g.k+kx)*g.l:][:g.l]
				for oy := 0; oy < g.ho; oy++ {
					iy := oy*g.stride + ky - g.pad
					out := row[oy*g.wo : (oy+1)*g.wo]
					if iy < 0 || iy >= g.h {
						clear(out)
						continue
					}
					src := plane[iy*g.w : (iy+1)*g.w]
					if g.stride == 1 {
						// Columns ox with 0 ≤ ox+kx−pad < w come straight from the row.
						lo, hi := max(0, g.pad-kx), min(g.wo, g.w+g.pad-kx)
						clear(out[:lo])
						if hi > lo {
							copy(out[lo:hi], src[lo+kx-g.pad:hi+kx-g.pad])
						}
						clear(out[max(hi, lo):])
						continue
					}
					for ox := range out {
						ix := ox*g.stride + kx - g.pad
						if ix < 0 || ix >= g.w {
							out[ox] = 0
						} else {
							out[ox] = src[ix]
						}
					}
				}
			}
		}
	}
	return col
}

// col2im is the adjoint of cols: it sums the column matrix back into an image.
func (g *conv) col2im(col, img []float32) {
	clear(img)
	for c := 0; c < g.cin; c++ {
		plane := img[c*g.h*g.w : (c+1)*g.h*g.w]
		for ky := 0; ky < g.k; ky++ {
			for kx := 0; kx < g.k; kx++ {
				row := col[((c*g.k+ky)*g.k+kx)*g.l:][:g.l]
				for oy := 0; oy < g.ho; oy++ {
					iy := oy*g.stride + ky - g.pad
					if iy < 0 || iy >= g.h {
						continue
					}
					dst := plane[iy*g.w : (iy+1)*g.w]
					src := row[oy*g.wo : (oy+1)*g.wo]
					for ox, v := range src {
						ix := ox*g.stride + kx - g.pad
						if ix >= 0 && ix < g.w {
							dst[ix] += v
						}
					}
				}
			}
		}
	}
}
