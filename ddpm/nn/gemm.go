package nn

import "sync"

// Cache blocking of the packed GEMM (BLIS-style): a kc×nc panel of B and an
// mc×kc block of A are packed so the micro-kernel streams through contiguous
// memory. mc is a multiple of every micro-kernel's row count.
const (
	gemmKC = 256
	gemmMC = 96
	gemmNC = 1024
)

// microKernel computes the mr×nr tile Σ_p a[p·mr+i]·b[p·nr+j] into t (row-major,
// nr wide) from packed panels of k steps.
type microKernel func(k int, a, b, t []float32)

// The micro-kernels in use; gemm_amd64.go swaps in AVX2 and AVX-512 ones
// when the CPU has them.
var (
	kernMR, kernNR             = 4, 4
	kernel         microKernel = kernel4x4
	// kernelAcc, when set, adds alpha times a full tile straight into C.
	kernelAcc func(k int, a, b, c []float32, ldc int, alpha float32)
	// indKernels are the micro-kernels of the indirect convolution
	// (directConv), from which each convolution picks one for its channels.
	indKernels = []indKernel{{4, 4, kernelInd4x4}}
	// kernelRows adds the tile A·B into C where A(i, p) = rows[i][p] and row p
	// of B is b[p·ldb:][:nr] (see conv.weightGrad).
	kernelRows = kernelRows4x4
)

// indKernel adds the mr×nr tile A·B into C, A packed in mr-row panels
// (packA) and row p of B the nr floats at b[offs[p]:]. The caller guarantees
// every read is in bounds.
type indKernel struct {
	mr, nr int
	run    func(k int, a, b []float32, offs []int32, c []float32, ldc int)
}

// pickInd returns the kernel of indKernels that computes the fewest rows
// for cout output channels (the last, widest one on a tie): on AVX-512 the
// 16-row kernel for the network's 16, 32, 48 and 64 channels, the 6-row one
// for the final convolution's single channel.
func pickInd(cout int) indKernel {
	best := indKernels[0]
	for _, k := range indKernels[1:] {
		if roundUp(cout, k.mr) <= roundUp(cout, best.mr) {
			best = k
		}
	}
	return best
}

// roundUp returns n rounded up to a multiple of m.
func roundUp(n, m int) int { return (n + m - 1) / m * m }

// kernelRows4x4 is the portable row-pointer micro-kernel.
func kernelRows4x4(k int, rows [][]float32, b []float32, ldb int, c []float32, ldc int) {
	var c00, c01, c02, c03, c10, c11, c12, c13, c20, c21, c22, c23, c30, c31, c32, c33 float32
	x0, x1, x2, x3 := rows[0][:k], rows[1][:k], rows[2][:k], rows[3][:k]
	for p := range x0 {
		bb := b[p*ldb : p*ldb+4 : p*ldb+4]
		a0, a1, a2, a3 := x0[p], x1[p], x2[p], x3[p]
		b0, b1, b2, b3 := bb[0], bb[1], bb[2], bb[3]
		c00 += a0 * b0
		c01 += a0 * b1
		c02 += a0 * b2
		c03 += a0 * b3
		c10 += a1 * b0
		c11 += a1 * b1
		c12 += a1 * b2
		c13 += a1 * b3
		c20 += a2 * b0
		c21 += a2 * b1
		c22 += a2 * b2
		c23 += a2 * b3
		c30 += a3 * b0
		c31 += a3 * b1
		c32 += a3 * b2
		c33 += a3 * b3
	}
	r0, r1, r2, r3 := c[:4:4], c[ldc:ldc+4:ldc+4], c[2*ldc:2*ldc+4:2*ldc+4], c[3*ldc:3*ldc+4:3*ldc+4]
	r0[0], r0[1], r0[2], r0[3] = r0[0]+c00, r0[1]+c01, r0[2]+c02, r0[3]+c03
	r1[0], r1[1], r1[2], r1[3] = r1[0]+c10, r1[1]+c11, r1[2]+c12, r1[3]+c13
	r2[0], r2[1], r2[2], r2[3] = r2[0]+c20, r2[1]+c21, r2[2]+c22, r2[3]+c23
	r3[0], r3[1], r3[2], r3[3] = r3[0]+c30, r3[1]+c31, r3[2]+c32, r3[3]+c33
}

// kernelInd4x4 is the portable indirect micro-kernel.
func kernelInd4x4(k int, a, b []float32, offs []int32, c []float32, ldc int) {
	var c00, c01, c02, c03, c10, c11, c12, c13, c20, c21, c22, c23, c30, c31, c32, c33 float32
	a = a[:4*k]
	for p, o := range offs[:k] {
		aa, bb := a[4*p:4*p+4:4*p+4], b[o:o+4:o+4]
		a0, a1, a2, a3 := aa[0], aa[1], aa[2], aa[3]
		b0, b1, b2, b3 := bb[0], bb[1], bb[2], bb[3]
		c00 += a0 * b0
		c01 += a0 * b1
		c02 += a0 * b2
		c03 += a0 * b3
		c10 += a1 * b0
		c11 += a1 * b1
		c12 += a1 * b2
		c13 += a1 * b3
		c20 += a2 * b0
		c21 += a2 * b1
		c22 += a2 * b2
		c23 += a2 * b3
		c30 += a3 * b0
		c31 += a3 * b1
		c32 += a3 * b2
		c33 += a3 * b3
	}
	r0, r1, r2, r3 := c[:4:4], c[ldc:ldc+4:ldc+4], c[2*ldc:2*ldc+4:2*ldc+4], c[3*ldc:3*ldc+4:3*ldc+4]
	r0[0], r0[1], r0[2], r0[3] = r0[0]+c00, r0[1]+c01, r0[2]+c02, r0[3]+c03
	r1[0], r1[1], r1[2], r1[3] = r1[0]+c10, r1[1]+c11, r1[2]+c12, r1[3]+c13
	r2[0], r2[1], r2[2], r2[3] = r2[0]+c20, r2[1]+c21, r2[2]+c22, r2[3]+c23
	r3[0], r3[1], r3[2], r3[3] = r3[0]+c30, r3[1]+c31, r3[2]+c32, r3[3]+c33
}

type packBufs struct{ a, b, tile []float32 }

var packPool = sync.Pool{New: func() any {
	return &packBufs{
		a:    make([]float32, gemmMC*gemmKC),
		b:    make([]float32, gemmKC*(gemmNC+16)),
		tile: make([]float32, 16*16),
	}
}}

// sgemm computes C = alpha·op(A)·op(B) + beta·C for row-major matrices, op(A)
// m×k and op(B) k×n. It runs on the calling goroutine.
func sgemm(tA, tB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	if m == 0 || n == 0 {
		return
	}
	if beta != 1 {
		for i := 0; i < m; i++ {
			row := c[i*ldc : i*ldc+n]
			if beta == 0 {
				clear(row)
			} else {
				for j := range row {
					row[j] *= beta
				}
			}
		}
	}
	if k == 0 || alpha == 0 {
		return
	}
	bufs := packPool.Get().(*packBufs)
	defer packPool.Put(bufs)
	mr, nr := kernMR, kernNR
	tile := bufs.tile[:mr*nr]
	for jc := 0; jc < n; jc += gemmNC {
		nc := min(gemmNC, n-jc)
		for pc := 0; pc < k; pc += gemmKC {
			kc := min(gemmKC, k-pc)
			packB(bufs.b, tB, b, ldb, pc, kc, jc, nc, nr)
			for ic := 0; ic < m; ic += gemmMC {
				mc := min(gemmMC, m-ic)
				packA(bufs.a, tA, a, lda, ic, mc, pc, kc, mr)
				for jr := 0; jr < nc; jr += nr {
					bp := bufs.b[(jr/nr)*kc*nr : (jr/nr+1)*kc*nr]
					nn := min(nr, nc-jr)
					for ir := 0; ir < mc; ir += mr {
						ap := bufs.a[(ir/mr)*kc*mr : (ir/mr+1)*kc*mr]
						mm := min(mr, mc-ir)
						if kernelAcc != nil && mm == mr && nn == nr {
							kernelAcc(kc, ap, bp, c[(ic+ir)*ldc+jc+jr:], ldc, alpha)
							continue
						}
						kernel(kc, ap, bp, tile)
						for i := 0; i < mm; i++ {
							crow := c[(ic+ir+i)*ldc+jc+jr : (ic+ir+i)*ldc+jc+jr+nn]
							trow := tile[i*nr : i*nr+nn]
							for j := range crow {
								crow[j] += alpha * trow[j]
							}
						}
					}
				}
			}
		}
	}
}

// packA copies op(A)[ic:ic+mc, pc:pc+kc] into panels of mr rows, each laid out
// k-major (mr values per step), zero-padding the last panel.
func packA(dst []float32, tA bool, a []float32, lda, ic, mc, pc, kc, mr int) {
	for r0 := 0; r0 < mc; r0 += mr {
		panel := dst[(r0/mr)*kc*mr : (r0/mr+1)*kc*mr]
		rows := min(mr, mc-r0)
		for i := 0; i < mr; i++ {
			if i >= rows {
				for p := 0; p < kc; p++ {
					panel[p*mr+i] = 0
				}
				continue
			}
			row := ic + r0 + i
			if tA {
				for p := 0; p < kc; p++ {
					panel[p*mr+i] = a[(pc+p)*lda+row]
				}
			} else {
				src := a[row*lda+pc : row*lda+pc+kc]
				for p, v := range src {
					panel[p*mr+i] = v
				}
			}
		}
	}
}

// packB copies op(B)[pc:pc+kc, jc:jc+nc] into panels of nr columns, each laid
// out k-major (nr values per step), zero-padding the last panel.
func packB(dst []float32, tB bool, b []float32, ldb, pc, kc, jc, nc, nr int) {
	for c0 := 0; c0 < nc; c0 += nr {
		panel := dst[(c0/nr)*kc*nr : (c0/nr+1)*kc*nr]
		cols := min(nr, nc-c0)
		if !tB {
			for p := 0; p < kc; p++ {
				src := b[(pc+p)*ldb+jc+c0 : (pc+p)*ldb+jc+c0+cols]
				d := panel[p*nr : p*nr+nr]
				copy(d, src)
				clear(d[cols:])
			}
			continue
		}
		for j := 0; j < nr; j++ {
			if j >= cols {
				for p := 0; p < kc; p++ {
					panel[p*nr+j] = 0
				}
				continue
			}
			src := b[(jc+c0+j)*ldb+pc : (jc+c0+j)*ldb+pc+kc]
			for p, v := range src {
				panel[p*nr+j] = v
			}
		}
	}
}

// kernel4x4 is the portable micro-kernel (plain Go, also used in WebAssembly).
func kernel4x4(k int, a, b, t []float32) {
	var c00, c01, c02, c03, c10, c11, c12, c13, c20, c21, c22, c23, c30, c31, c32, c33 float32
	a, b = a[:4*k], b[:4*k]
	for p := 0; p < 4*k; p += 4 {
		aa, bb := a[p:p+4:p+4], b[p:p+4:p+4]
		a0, a1, a2, a3 := aa[0], aa[1], aa[2], aa[3]
		b0, b1, b2, b3 := bb[0], bb[1], bb[2], bb[3]
		c00 += a0 * b0
		c01 += a0 * b1
		c02 += a0 * b2
		c03 += a0 * b3
		c10 += a1 * b0
		c11 += a1 * b1
		c12 += a1 * b2
		c13 += a1 * b3
		c20 += a2 * b0
		c21 += a2 * b1
		c22 += a2 * b2
		c23 += a2 * b3
		c30 += a3 * b0
		c31 += a3 * b1
		c32 += a3 * b2
		c33 += a3 * b3
	}
	t = t[:16]
	t[0], t[1], t[2], t[3] = c00, c01, c02, c03
	t[4], t[5], t[6], t[7] = c10, c11, c12, c13
	t[8], t[9], t[10], t[11] = c20, c21, c22, c23
	t[12], t[13], t[14], t[15] = c30, c31, c32, c33
}
