//go:build linux && (amd64 || arm64)

package cuda

import (
	_ "embed"
	"fmt"
	"math"
	"os"
	"runtime"
	"strings"
	"sync/atomic"
	"unsafe"

	"github.com/ddpm-go/ddpm/ddpm/nn"
)

//go:embed kernels.cu
var kernelSource string

// kernelNames lists the kernels of kernels.cu that the backend launches.
var kernelNames = []string{
	"im2col", "col2im", "cl_to_ncl", "ncl_to_cl", "row_sum_add", "row_dot_add", "col_sum_add", "add_row_bias",
	"silu", "silu_backward", "add", "axpy", "add_channels", "scale_channels", "concat", "split",
	"upsample2x", "upsample2x_backward", "softmax_rows", "softmax_rows_backward",
	"embedding", "embedding_backward", "mse", "adam", "ema",
	"groupnorm", "groupnorm_params", "groupnorm_input",
}

// GPU is the CUDA nn.Backend. Its methods may be called from any goroutine;
// they run one at a time on the GPU's own thread.
type GPU struct {
	info   Info
	t      *thread
	cu     *driver
	blas   *cublas
	dev    int32
	ctx    uintptr
	handle uintptr // cuBLAS
	fn     map[string]uintptr

	args   *launchArgs
	pin    *runtime.Pinner
	bufs   [numScratch]*devMem // scratch buffers, grown as needed
	ids    []int32             // host copy of the last labels uploaded
	closed bool

	// Device memory is freed when its tensors are garbage collected, but the
	// Go heap barely grows with it, so New runs the collector itself after
	// allocating a quarter of the GPU's memory, and again before giving up
	// on an allocation.
	sinceGC atomic.Uint64
}

// launchArgs is cuLaunchKernel's parameter block: p[i] points at v[i].
// It is pinned, so handing p (Go pointers to Go memory) to the driver is allowed.
type launchArgs struct {
	v [16]uint64
	p [16]unsafe.Pointer
}

type released struct {
	pin *runtime.Pinner
	t   *thread
}

// devMem is one device allocation, freed when no tensor refers to it.
type devMem struct {
	ptr   uintptr
	bytes uint64
}

// devView is what a Tensor's Dev holds: an allocation and an offset in floats.
type devView struct {
	mem *devMem
	off int
}

var _ nn.Backend = (*GPU)(nil)

// Open finds the CUDA libraries, opens the device, compiles the kernels and
// starts cuBLAS. Its error is one line saying what is missing.
func Open(opts Options) (*GPU, error) {
	g := &GPU{t: newThread(), args: new(launchArgs), pin: new(runtime.Pinner)}
	var err error
	g.t.do(func() { err = g.open(opts) })
	if err != nil {
		g.t.stop()
		return nil, fmt.Errorf("cuda: %w", err)
	}
	for i := range g.args.p {
		g.args.p[i] = unsafe.Pointer(&g.args.v[i])
	}
	g.pin.Pin(g.args)
	// A GPU dropped without Close still unpins and ends its thread.
	runtime.AddCleanup(g, func(r released) { r.pin.Unpin(); r.t.stop() }, released{g.pin, g.t})
	return g, nil
}

func (g *GPU) open(opts Options) error {
	dirs := searchDirs(os.Getenv)
	cu, err := loadDriver(dirs)
	if err != nil {
		return err
	}
	g.cu = cu
	if err := cu.check("cuInit", cu.Init(0)); err != nil {
		return err
	}
	var ver, count int32
	cu.DriverGetVersion(&ver)
	if err := cu.check("cuDeviceGetCount", cu.DeviceGetCount(&count)); err != nil {
		return err
	}
	if opts.Device < 0 || int(opts.Device) >= int(count) {
		return fmt.Errorf("device %d requested, %d found", opts.Device, count)
	}
	if err := cu.check("cuDeviceGet", cu.DeviceGet(&g.dev, int32(opts.Device))); err != nil {
		return err
	}
	name := make([]byte, 256)
	var mem uint64
	var major, minor int32
	cu.DeviceGetName(&name[0], int32(len(name)), g.dev)
	cu.DeviceTotalMem(&mem, g.dev)
	cu.DeviceGetAttribute(&major, attrComputeMajor, g.dev)
	cu.DeviceGetAttribute(&minor, attrComputeMinor, g.dev)
	g.info = Info{Name: strings.TrimRight(string(name), "\x00"), Memory: mem, Major: int(major), Minor: int(minor),
		Driver: int(ver), Libraries: []string{cu.lib.path}}
	if err := cu.check("cuDevicePrimaryCtxRetain", cu.PrimaryCtxRetain(&g.ctx, g.dev)); err != nil {
		return err
	}
	if err := cu.check("cuCtxSetCurrent", cu.CtxSetCurrent(g.ctx)); err != nil {
		return err
	}

	rtc, err := loadNVRTC(dirs, int(ver)/1000)
	if err != nil {
		return err
	}
	g.info.NVRTC = rtc.version()
	g.info.Libraries = append(g.info.Libraries, rtc.lib.path)
	image, err := compileFor(rtc, int(major), int(minor))
	if err != nil {
		return err
	}
	var mod uintptr
	if err := cu.check("loading the kernels (cuModuleLoadData)", cu.ModuleLoadData(&mod, unsafe.Pointer(&image[0]))); err != nil {
		return err
	}
	g.fn = make(map[string]uintptr, len(kernelNames))
	for _, k := range kernelNames {
		var f uintptr
		if err := cu.check("cuModuleGetFunction "+k, cu.ModuleGetFunction(&f, mod, k)); err != nil {
			return err
		}
		g.fn[k] = f
	}

	blas, err := loadCUBLAS(dirs, int(ver)/1000)
	if err != nil {
		return err
	}
	g.blas = blas
	g.info.Libraries = append(g.info.Libraries, blas.lib.path)
	if err := checkBLAS("cublasCreate", blas.Create(&g.handle)); err != nil {
		return err
	}
	var bv int32
	blas.GetVersion(g.handle, &bv)
	g.info.CUBLAS = int(bv)
	return checkBLAS("cublasSetMathMode", blas.SetMathMode(g.handle, mathMode(opts.TF32)))
}

func mathMode(tf32 bool) int32 {
	if tf32 {
		return mathTF32
	}
	return mathDefault
}

// compileFor compiles the kernels to a CUBIN for sm_XY, or, when this NVRTC
// does not know the GPU (a GPU newer than the library), to PTX for the
// newest architecture it knows, which the driver then compiles.
func compileFor(rtc *nvrtc, major, minor int) ([]byte, error) {
	code, err := rtc.compile(kernelSource, "kernels.cu", fmt.Sprintf("sm_%d%d", major, minor))
	if err == nil {
		return code, nil
	}
	for _, arch := range []string{"compute_90", "compute_80", "compute_75", "compute_70"} {
		if code, err2 := rtc.compile(kernelSource, "kernels.cu", arch); err2 == nil {
			return code, nil
		}
	}
	return nil, err
}

// Info describes the device and the libraries in use.
func (g *GPU) Info() Info { return g.info }

// Name implements nn.Backend.
func (g *GPU) Name() string { return "cuda (" + g.info.Name + ")" }

// Close releases cuBLAS, the scratch buffers and the context, and ends the
// GPU's thread. Tensors must not be used afterwards.
func (g *GPU) Close() {
	g.run(func() {
		for _, b := range g.bufs {
			if b != nil {
				g.cu.MemFree(b.ptr)
			}
		}
		g.blas.Destroy(g.handle)
		g.cu.PrimaryCtxRelease(g.dev)
		g.closed = true
	})
	g.t.stop()
	g.pin.Unpin()
}

// fail panics with a DeviceError; the backend's methods have no error results.
func fail(err error) {
	if err != nil {
		panic(&nn.DeviceError{Err: fmt.Errorf("cuda: %w", err)})
	}
}

// alloc returns bytes of device memory (on the GPU's thread).
func (g *GPU) alloc(bytes uint64) *devMem {
	m, err := g.tryAlloc(bytes)
	fail(err)
	return m
}

func (g *GPU) tryAlloc(bytes uint64) (*devMem, error) {
	m := &devMem{bytes: bytes}
	if err := g.cu.check(fmt.Sprintf("allocating %.1f MiB (cuMemAlloc)", float64(bytes)/(1<<20)), g.cu.MemAlloc(&m.ptr, max(bytes, 4))); err != nil {
		return nil, err
	}
	runtime.AddCleanup(m, g.free, m.ptr)
	return m, nil
}

// free runs when a devMem is unreachable; after Close there is nothing to free.
func (g *GPU) free(ptr uintptr) {
	g.t.do(func() {
		if !g.closed {
			g.cu.MemFree(ptr)
		}
	})
}

// run runs f on the GPU's thread.
func (g *GPU) run(f func()) {
	if !g.t.do(f) {
		fail(fmt.Errorf("backend used after Close"))
	}
}

// The scratch buffers.
const (
	colBuf   = iota // im2col columns [C·K·K, N·L]
	cnlBuf          // a convolution's output or output gradient as [Cout, N·L]
	dcolBuf         // the gradient of the im2col columns
	smallBuf        // embedding ids, MSE partial sums
	numScratch
)

// scratch returns scratch buffer i with room for n floats, growing it as needed.
func (g *GPU) scratch(i, n int) uintptr {
	if b := g.bufs[i]; b == nil || b.bytes < uint64(4*n) {
		g.bufs[i] = g.alloc(uint64(4 * n))
	}
	return g.bufs[i].ptr
}

// ptr returns the device address of t's first element, 0 for nil.
func ptr(t *nn.Tensor) uintptr {
	if t == nil {
		return 0
	}
	v := t.Dev.(*devView)
	return v.mem.ptr + uintptr(4*v.off)
}

const blockSize = 256

// launch runs kernel name over n elements with a grid-stride loop.
func (g *GPU) launch(name string, n int, args ...any) {
	if n > 0 {
		g.launchBlocks(name, min((n+blockSize-1)/blockSize, 8192), args...)
	}
}

// launchBlocks runs kernel name on blocks blocks of blockSize threads.
func (g *GPU) launchBlocks(name string, blocks int, args ...any) {
	if blocks <= 0 {
		return
	}
	for i, a := range args {
		switch v := a.(type) {
		case uintptr:
			g.args.v[i] = uint64(v)
		case int:
			if v != int(int32(v)) {
				fail(fmt.Errorf("%s: size %d does not fit the kernels' 32-bit ints", name, v))
			}
			g.args.v[i] = uint64(uint32(int32(v)))
		case float32:
			g.args.v[i] = uint64(math.Float32bits(v))
		default:
			panic(fmt.Sprintf("cuda: kernel argument of type %T", a))
		}
	}
	fail(g.cu.check("launching "+name, g.cu.LaunchKernel(g.fn[name], uint32(blocks), 1, 1, blockSize, 1, 1, 0, 0,
		unsafe.Pointer(&g.args.p[0]), nil)))
}

// gemm computes row-major C = alpha·op(A)·op(B) + beta·C for a batch of
// matrices. cuBLAS is column-major, so it computes Cᵀ = op(B)ᵀ·op(A)ᵀ.
func (g *GPU) gemm(tA, tB bool, m, n, k, batch int, alpha float32, a uintptr, lda, sa int, b uintptr, ldb, sb int, beta float32, c uintptr, ldc, sc int) {
	if m == 0 || n == 0 || batch == 0 {
		return
	}
	op := func(t bool) int32 {
		if t {
			return opT
		}
		return opN
	}
	if batch == 1 {
		fail(checkBLAS("cublasSgemm", g.blas.Sgemm(g.handle, op(tB), op(tA), int32(n), int32(m), int32(k),
			&alpha, b, int32(ldb), a, int32(lda), &beta, c, int32(ldc))))
		return
	}
	fail(checkBLAS("cublasSgemmStridedBatched", g.blas.SgemmBatched(g.handle, op(tB), op(tA), int32(n), int32(m), int32(k),
		&alpha, b, int32(ldb), int64(sb), a, int32(lda), int64(sa), &beta, c, int32(ldc), int64(sc), int32(batch))))
}

// setTF32 switches cuBLAS between float32 and TF32 GEMMs.
func (g *GPU) setTF32(on bool) {
	g.run(func() { fail(checkBLAS("cublasSetMathMode", g.blas.SetMathMode(g.handle, mathMode(on)))) })
}
