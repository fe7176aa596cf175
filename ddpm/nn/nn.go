// Package nn holds the float32 kernels that the U-Net runs on, behind one
// Backend interface so the same network code can run on the CPU (Go, with
// AVX2 and AVX-512 GEMM micro-kernels on amd64 and hand-written WebAssembly SIMD kernels in the
// browser) and on other devices.
//
// Layouts are row-major: images are NCHW, convolution weights [out, in, kh, kw],
// linear weights [out, in] (PyTorch's). Backward kernels overwrite input
// gradients (dx) and accumulate parameter gradients (dw, db), so one gradient
// buffer can collect contributions from several uses of a parameter.
package nn

import "fmt"

// Tensor is an n-dimensional float32 array owned by a Backend.
type Tensor struct {
	Shape []int
	// Data holds the values for host backends (CPU); device backends keep
	// their memory in Dev and leave Data nil.
	Data []float32
	Dev  any
}

// Len returns the number of elements.
func (t *Tensor) Len() int { return numel(t.Shape) }

func (t *Tensor) String() string { return fmt.Sprintf("Tensor%v", t.Shape) }

func numel(shape []int) int {
	n := 1
	for _, d := range shape {
		n *= d
	}
	return n
}

// Mat describes a row-major matrix (or a batch of them) inside a tensor, for GEMM.
type Mat struct {
	T      *Tensor
	Off    int  // index of the first element
	Ld     int  // distance between rows
	Stride int  // distance between the matrices of a batch
	Trans  bool // use the transpose
}

// Backend is the set of kernels the network needs for a forward and a
// backward pass and an optimiser step.
type Backend interface {
	Name() string

	// New returns a zeroed tensor.
	New(shape ...int) *Tensor
	// View returns a tensor sharing t's memory from element off on.
	View(t *Tensor, off int, shape ...int) *Tensor
	Upload(dst *Tensor, src []float32)
	Download(dst []float32, src *Tensor)
	Zero(t *Tensor)
	Copy(dst, src *Tensor)

	// Conv2D computes y = conv(x, w) + b for x [N,Cin,H,W], w [Cout,Cin,K,K],
	// b [Cout] (may be nil), with the given stride and zero padding.
	Conv2D(y, x, w, b *Tensor, stride, pad int)
	// Conv2DBackward writes dx (if non-nil) and adds to dw and db (if non-nil).
	Conv2DBackward(dx, dw, db, dy, x, w *Tensor, stride, pad int)
	// Linear computes y = x·wᵀ + b for x [N,In], w [Out,In], b [Out] (may be nil).
	Linear(y, x, w, b *Tensor)
	LinearBackward(dx, dw, db, dy, x, w *Tensor)
	// GEMM computes C = alpha·op(A)·op(B) + beta·C for batch matrices, op(A)
	// m×k and op(B) k×n.
	GEMM(m, n, k, batch int, alpha float32, a, b Mat, beta float32, c Mat)

	// GroupNorm normalises x [N,C,...] over groups of channels and writes the
	// per-(n,group) mean and 1/σ for the backward pass.
	GroupNorm(y, mean, rstd, x, gamma, beta *Tensor, groups int, eps float32)
	GroupNormBackward(dx, dgamma, dbeta, dy, x, mean, rstd, gamma *Tensor, groups int)
	// SiLU computes y = x·σ(x) and, when sig is non-nil, keeps σ(x) there for
	// the backward pass.
	SiLU(y, sig, x *Tensor)
	SiLUBackward(dx, dy, x, sig *Tensor)
	// SoftmaxRows applies softmax over the last dimension of x.
	SoftmaxRows(y, x *Tensor)
	SoftmaxRowsBackward(dx, dy, y *Tensor)

	// Add computes y = a + b; y may alias a or b.
	Add(y, a, b *Tensor)
	// Axpy computes y += alpha·x.
	Axpy(y *Tensor, alpha float32, x *Tensor)
	// AddChannels computes y[n,c,…] = x[n,c,…] + v[n,c]; y may alias x.
	AddChannels(y, x, v *Tensor)
	// SumChannels adds Σ_… dy[n,c,…] to dv[n,c].
	SumChannels(dv, dy *Tensor)
	// ScaleChannels computes y[n,c,…] = x[n,c,…]·(1 + s[n,c]); y may alias x.
	ScaleChannels(y, x, s *Tensor)
	// DotChannels adds Σ_… dy[n,c,…]·x[n,c,…] to ds[n,c]: ScaleChannels'
	// gradient with respect to s.
	DotChannels(ds, dy, x *Tensor)
	// Concat joins a [N,Ca,…] and b [N,Cb,…] along channels into y.
	Concat(y, a, b *Tensor)
	// Split is Concat's adjoint: it writes the two parts of dy into da and db.
	Split(da, db, dy *Tensor)
	// Upsample2x repeats each pixel of x [N,C,H,W] into a 2×2 block.
	Upsample2x(y, x *Tensor)
	Upsample2xBackward(dx, dy *Tensor)
	// Embedding writes rows ids of table [V,D] into y [len(ids),D].
	Embedding(y, table *Tensor, ids []int)
	EmbeddingBackward(dtable, dy *Tensor, ids []int)

	// MSE returns mean((pred − target)²) and writes its gradient into grad.
	MSE(grad, pred, target *Tensor) float64
	// Adam takes one Adam step (with bias correction for step ≥ 1) on p.
	Adam(p, g, m, v *Tensor, lr, beta1, beta2, eps float64, step int)
	// EMA computes avg = decay·avg + (1 − decay)·p.
	EMA(avg, p *Tensor, decay float64)
}

// DeviceError is what a device backend panics with when the device fails
// (out of memory, a lost GPU, a kernel that would not launch): the kernels
// have no error results, so a program that wants one line instead of a panic
// recovers it at the top, as ddpm/train does.
type DeviceError struct{ Err error }

func (e *DeviceError) Error() string { return e.Err.Error() }
func (e *DeviceError) Unwrap() error { return e.Err }
