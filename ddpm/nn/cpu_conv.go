package nn

import "sync"

// Conv2D implements Backend: one GEMM per image, images spread over the
// workers. A 1×1 convolution's image is its own column matrix; any other
// reads its column matrix in place from the padded image (directConv).
func (CPU) Conv2D(y, x, w, b *Tensor, stride, pad int) {
	g := convGeom(x, w, y, stride, pad)
	var bias []float32
	if b != nil {
		bias = b.Data
	}
	if accel != nil && accel.conv(g, w.Data, bias, x.Data, y.Data) {
		return
	}
	var d *directConv
	if !g.direct {
		d = newDirectConv(g, w.Data)
	}
	parallel(g.n, 1, func(_, lo, hi int) {
		var xp, yp []float32
		if d != nil {
			xp, yp = getBuf(d.xpLen), getBuf(d.ypLen)
			defer putBuf(xp)
			defer putBuf(yp)
		}
		for i := lo; i < hi; i++ {
			out := y.Data[i*g.outSize : (i+1)*g.outSize]
			img := x.Data[i*g.inSize : (i+1)*g.inSize]
			if d != nil {
				d.run(img, out, xp, yp)
			} else {
				sgemm(false, false, g.cout, g.l, g.kdim, 1, w.Data, g.kdim, img, g.l, 0, out, g.l)
			}
			if b != nil {
				g.addBias(out, b.Data)
			}
		}
	})
}

// addBias adds b[c] to channel c of one output image.
func (g *conv) addBias(out, b []float32) {
	for c, bc := range b[:g.cout] {
		row := out[c*g.l : (c+1)*g.l]
		for j := range row {
			row[j] += bc
		}
	}
}

// Conv2DBackward implements Backend. Each worker sums its images' weight
// gradients privately; the partial sums are added at the end. For stride 1,
// dx is itself a convolution of dy with the flipped, transposed kernel, which
// keeps the GEMM's inner dimension large and needs no col2im.
func (CPU) Conv2DBackward(dx, dw, db, dy, x, w *Tensor, stride, pad int) {
	g := convGeom(x, w, dy, stride, pad)
	var dt *directConv // dx = conv(dy, flipped wᵀ) when the transposed form applies
	if dx != nil && !g.direct && stride == 1 {
		gt := convGeom(dy, &Tensor{Shape: []int{g.cin, g.cout, g.k, g.k}}, dx, 1, g.k-1-pad)
		dt = newDirectConv(gt, flipTranspose(w))
	}
	var dw1 *directConv // weight gradient without im2col
	if dw != nil && !g.direct {
		dw1 = newDirectConv(g, w.Data)
	}
	nw := min(workers(), g.n)
	partial := make([][]float32, nw)
	parallel(g.n, 1, func(worker, lo, hi int) {
		var xw, dyt []float32
		if dw1 != nil {
			xw, dyt = getBuf(dw1.xpLen), getBuf(dw1.dytLen())
			defer putBuf(xw)
			defer putBuf(dyt)
		}
		var dcol, xp, yp []float32
		if dx != nil && !g.direct && dt == nil {
			dcol = getBuf(g.kdim * g.l)
			defer putBuf(dcol)
		}
		if dt != nil {
			xp, yp = getBuf(dt.xpLen), getBuf(dt.ypLen)
			defer putBuf(xp)
			defer putBuf(yp)
		}
		var pdw []float32
		if dw1 != nil {
			pdw = make([]float32, dw1.dwTLen())
		} else if dw != nil {
			pdw = make([]float32, len(w.Data))
		}
		partial[worker] = pdw
		for i := lo; i < hi; i++ {
			dyi := dy.Data[i*g.outSize : (i+1)*g.outSize]
			xi := x.Data[i*g.inSize : (i+1)*g.inSize]
			switch {
			case dw1 != nil:
				dw1.weightGrad(xi, dyi, xw, dyt, pdw)
			case dw != nil: // 1×1: the image is the column matrix
				sgemm(false, true, g.cout, g.kdim, g.l, 1, dyi, g.l, xi, g.l, 1, pdw, g.kdim)
			}
			if dx == nil {
				continue
			}
			dxi := dx.Data[i*g.inSize : (i+1)*g.inSize]
			switch {
			case g.direct:
				sgemm(true, false, g.kdim, g.l, g.cout, 1, w.Data, g.kdim, dyi, g.l, 0, dxi, g.l)
			case dt != nil:
				dt.run(dyi, dxi, xp, yp)
			default:
				sgemm(true, false, g.kdim, g.l, g.cout, 1, w.Data, g.kdim, dyi, g.l, 0, dcol, g.l)
				g.col2im(dcol, dxi)
			}
		}
	})
	for _, p := range partial {
		switch {
		case p == nil:
		case dw1 != nil: // transposed and padded
			cp := dw1.coutPad()
			for c := 0; c < g.cout; c++ {
				row := dw.Data[c*g.kdim : (c+1)*g.kdim]
				for r := range row {
					row[r] += p[r*cp+c]
				}
			}
		default:
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

var bufPool sync.Pool

// getBuf returns a scratch slice of length n (contents undefined).
func getBuf(n int) []float32 {
	if p, ok := bufPool.Get().(*[]float32); ok && cap(*p) >= n {
		return (*p)[:n]
	}
	return make([]float32, n)
}

func putBuf(b []float32) {
	if b != nil {
		bufPool.Put(&b)
	}
}

// directConv is a convolution without im2col: the micro-kernel reads the
// column matrix's rows in place from the zero-padded image, for stride 2
// split into phase planes (padImage, paddedOffsets), so nothing is packed
// per image.
type directConv struct {
	g            *conv
	wp           int       // padded row width: outputs are laid out wp wide
	ind          indKernel // the micro-kernel, picked for the output channels
	n, mpad      int       // output columns (padded width, rounded up to nr) and channels (rounded up to mr)
	wpack        []float32 // weights in mr-row panels
	offs         []int32   // start of each column-matrix row in the padded image
	xpLen, ypLen int
}

func newDirectConv(g *conv, w []float32) *directConv {
	ind := pickInd(g.cout)
	mr, nr := ind.mr, ind.nr
	hph, wp := g.phaseDims()
	d := &directConv{g: g, wp: wp, ind: ind, offs: g.paddedOffsets()}
	d.n = roundUp(g.ho*d.wp, nr)
	d.mpad = roundUp(g.cout, mr)
	d.wpack = make([]float32, d.mpad*g.kdim)
	packA(d.wpack, false, w, g.kdim, 0, g.cout, 0, g.kdim, mr)
	d.xpLen = max(g.cin*g.stride*g.stride*hph*wp, int(d.offs[len(d.offs)-1])+d.n) // the phase planes, or the furthest read
	d.ypLen = d.mpad * d.n
	return d
}

// run convolves one image into out using the scratch buffers xp and yp.
func (d *directConv) run(img, out, xp, yp []float32) {
	g, mr, nr := d.g, d.ind.mr, d.ind.nr
	g.padImage(img, xp)
	clear(yp)
	for jr := 0; jr < d.n; jr += nr {
		for ir := 0; ir < d.mpad; ir += mr {
			d.ind.run(g.kdim, d.wpack[ir*g.kdim:(ir+mr)*g.kdim], xp[jr:], d.offs, yp[ir*d.n+jr:], d.n)
		}
	}
	g.unpad(out, yp, d.n)
}

// The indirect convolutions (directConv, and the WebAssembly SIMD kernel)
// read row (ci,ky,kx) of the column matrix in place from a copy of the image:
// zero-padded, and for stride s split into s² phase planes, phase (a,b)
// holding the padded pixels (s·i+a, s·j+b). Tap (ky,kx) of output (oy,ox) is
// then pixel (oy+ky/s, ox+kx/s) of phase (ky mod s, kx mod s): every row is
// the phase plane read from one offset, with outputs laid out one phase row
// (wph) wide and the wph−wo extra columns computed and dropped. For stride 1
// the one phase is the padded image.

// phaseDims is the size of one phase plane.
func (g *conv) phaseDims() (hph, wph int) {
	s := g.stride
	return (g.h + 2*g.pad + s - 1) / s, (g.w + 2*g.pad + s - 1) / s
}

// paddedOffsets returns where each row (ci,ky,kx) of the column matrix starts
// in the phase planes: for stride 1, ci·hp·wp + ky·wp + kx.
func (g *conv) paddedOffsets() []int32 {
	s := g.stride
	hph, wph := g.phaseDims()
	offs := make([]int32, g.kdim)
	for r := range offs {
		ci, ky, kx := r/(g.k*g.k), (r/g.k)%g.k, r%g.k
		phase := (ci*s+ky%s)*s + kx%s
		offs[r] = int32(phase*hph*wph + ky/s*wph + kx/s)
	}
	return offs
}

// padImage copies img into xp zero-padded and split into phase planes, and
// clears the rest of xp.
func (g *conv) padImage(img, xp []float32) {
	s := g.stride
	hph, wph := g.phaseDims()
	clear(xp)
	for c := 0; c < g.cin; c++ {
		for y := 0; y < g.h; y++ {
			row := img[(c*g.h+y)*g.w : (c*g.h+y+1)*g.w]
			py := y + g.pad
			if s == 1 {
				copy(xp[c*hph*wph+py*wph+g.pad:], row)
				continue
			}
			for b := 0; b < s; b++ { // columns x with (x+pad) mod s = b, in phase (py mod s, b)
				x0 := ((b-g.pad)%s + s) % s
				dst := xp[((c*s+py%s)*s+b)*hph*wph+py/s*wph+(x0+g.pad)/s:]
				for j, x := 0, x0; x < g.w; j, x = j+1, x+s {
					dst[j] = row[x]
				}
			}
		}
	}
}

// unpad copies an output computed wph wide (channel c's rows from yp[c·ld])
// into out, dropping the wph−wo extra columns of each row.
func (g *conv) unpad(out, yp []float32, ld int) {
	_, wph := g.phaseDims()
	for c := 0; c < g.cout; c++ {
		for oy := 0; oy < g.ho; oy++ {
			copy(out[(c*g.ho+oy)*g.wo:(c*g.ho+oy+1)*g.wo], yp[c*ld+oy*wph:])
		}
	}
}

// col2im sums a column matrix [cin·k·k, ho·wo] back into an image: the
// adjoint of im2col (for the input gradient of a strided convolution).
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

// Sizes of weightGrad's buffers: the transposed output gradient (pixels ×
// channels rounded up to nr) and the transposed weight gradient.
func (d *directConv) coutPad() int { return roundUp(d.g.cout, kernNR) }
func (d *directConv) dytLen() int  { return d.g.ho * d.wp * d.coutPad() }
func (d *directConv) dwTLen() int  { return roundUp(d.g.kdim, kernMR) * d.coutPad() }

// weightGrad adds one image's weight gradient, transposed ([kdim, coutPad]),
// to dwT: dWᵀ = rows(padded x) · dyᵀ, with the rows read in place and dy
// transposed (a small copy) so both operands stream contiguously.
func (d *directConv) weightGrad(img, dy, xp, dyt, dwT []float32) {
	g, mr, nr := d.g, kernMR, kernNR
	g.padImage(img, xp)
	cp, npix := d.coutPad(), g.ho*d.wp
	clear(dyt)
	for c := 0; c < g.cout; c++ {
		for oy := 0; oy < g.ho; oy++ {
			for ox, v := range dy[(c*g.ho+oy)*g.wo : (c*g.ho+oy+1)*g.wo] {
				dyt[(oy*d.wp+ox)*cp+c] = v
			}
		}
	}
	rows := make([][]float32, mr)
	for r0 := 0; r0 < g.kdim; r0 += mr {
		for i := range rows {
			// Rows past kdim repeat the last one; their sums land in padding.
			rows[i] = xp[d.offs[min(r0+i, g.kdim-1)]:]
		}
		for j0 := 0; j0 < cp; j0 += nr {
			kernelRows(npix, rows, dyt[j0:], cp, dwT[r0*cp+j0:], cp)
		}
	}
}
