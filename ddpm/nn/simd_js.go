//go:build js && wasm

package nn

import (
	_ "embed"
	"fmt"
	"syscall/js"
	"unsafe"
)

//go:generate npx --yes --package=wabt@1.0.39 wat2wasm simd128.wat -o simd128.wasm

// simd128Wasm is simd128.wat assembled: the hot loops of convolution, SiLU
// and GroupNorm in WebAssembly SIMD, which Go's compiler cannot emit.
//
//go:embed simd128.wasm
var simd128Wasm []byte

// simdModule is an instance of simd128.wasm. It has its own memory (Go's
// cannot be shared with it from inside Go), so each call copies its operands
// in and its result out: for a convolution a few hundred KB against millions
// of multiply-adds.
type simdModule struct {
	mem     js.Value // WebAssembly.Memory
	view    js.Value // Uint8Array over mem.buffer, renewed when it grows
	size    int      // bytes of mem
	gemmFn  js.Value
	siluFn  js.Value
	gnFn    js.Value
	smFn    js.Value
	padFn   js.Value
	unpadFn js.Value

	// views holds the Uint8Array views that put and get copy through, by
	// byte range. A step asks for the same few hundred ranges again and
	// again; a new view each time would be a JavaScript object that Go
	// holds until its next collection, and they piled up in the workers'
	// heaps by 200 KB a step.
	views map[[2]int]js.Value
}

// maxViews bounds views: a page that runs many batch sizes gets new ranges.
const maxViews = 4096

var (
	simd    *simdModule // nil where the engine lacks SIMD
	simdErr error
)

func init() {
	simd, simdErr = loadSIMD()
	SetWasmSIMD(true)
}

// SetWasmSIMD switches the WebAssembly SIMD kernels (convolutions, SiLU,
// GroupNorm) on or off, for comparisons, and reports whether they are in use
// now: never when the JavaScript engine cannot run them.
func SetWasmSIMD(on bool) bool {
	accel = nil
	if on && simd != nil {
		accel = simd
	}
	return accel != nil
}

// WasmSIMD says whether the WebAssembly SIMD kernels are in use, and if they
// cannot be, why.
func WasmSIMD() (bool, error) { return accel != nil, simdErr }

func loadSIMD() (m *simdModule, err error) {
	defer func() {
		if r := recover(); r != nil {
			m, err = nil, fmt.Errorf("WebAssembly SIMD kernels: %v", r)
		}
	}()
	wa := js.Global().Get("WebAssembly")
	if wa.Type() != js.TypeObject {
		return nil, fmt.Errorf("no WebAssembly object")
	}
	code := js.Global().Get("Uint8Array").New(len(simd128Wasm))
	js.CopyBytesToJS(code, simd128Wasm)
	if !wa.Call("validate", code).Bool() {
		return nil, fmt.Errorf("this browser cannot run WebAssembly SIMD")
	}
	inst := wa.Get("Instance").New(wa.Get("Module").New(code))
	ex := inst.Get("exports")
	m = &simdModule{mem: ex.Get("mem"), gemmFn: ex.Get("gemmInd"), siluFn: ex.Get("silu"), gnFn: ex.Get("groupNorm"), smFn: ex.Get("softmaxRows"),
		padFn: ex.Get("pad"), unpadFn: ex.Get("unpad")}
	m.renew()
	return m, nil
}

func (m *simdModule) renew() {
	buf := m.mem.Get("buffer")
	m.view = js.Global().Get("Uint8Array").New(buf)
	m.size = buf.Get("byteLength").Int()
	m.views = map[[2]int]js.Value{} // the old ones see the old, detached buffer
}

// at returns a view of bytes [off, off+n) of the module's memory.
func (m *simdModule) at(off, n int) js.Value {
	k := [2]int{off, n}
	v, ok := m.views[k]
	if !ok {
		if len(m.views) >= maxViews {
			clear(m.views)
		}
		v = m.view.Call("subarray", off, off+n)
		m.views[k] = v
	}
	return v
}

// layout places arrays of the given float counts one after another in the
// module's memory, growing it as needed, and returns their byte addresses.
func (m *simdModule) layout(lens ...int) []int {
	offs := make([]int, len(lens))
	end := 0
	for i, n := range lens {
		offs[i] = end
		end += (n + 3) / 4 * 16 // 16-byte aligned
	}
	if end > m.size {
		const page = 1 << 16
		m.mem.Call("grow", (end-m.size+page-1)/page)
		m.renew()
	}
	return offs
}

func (m *simdModule) put(off int, b []byte) {
	js.CopyBytesToJS(m.at(off, len(b)), b)
}

func (m *simdModule) get(f []float32, off int) {
	b := asBytes(f)
	js.CopyBytesToGo(b, m.at(off, len(b)))
}

// asBytes is s's memory as bytes (WebAssembly is little-endian like the module).
func asBytes[T float32 | int32](s []T) []byte {
	if len(s) == 0 {
		return nil
	}
	return unsafe.Slice((*byte)(unsafe.Pointer(&s[0])), 4*len(s))
}

// simdMR×simdNR is the tile of simd128.wat's gemmInd: A in panels of simdMR
// rows, C in blocks of simdNR columns.
const simdMR, simdNR = 4, 8

// conv computes y = conv(x, w) for the whole batch as one indirect GEMM per
// image: W [cout, kdim] times a column matrix whose row p is the image,
// zero-padded and split into phase planes, read from offset offs[p]
// (paddedOffsets: outputs one phase row wide, the extra columns dropped).
// The module drops the extra columns and adds the bias b (nil: none), and
// for stride 1 pads the images itself, so only x goes in and y comes out.
func (m *simdModule) conv(g *conv, w, b, x, y []float32) bool {
	const mr, nr = simdMR, simdNR
	hph, wph := g.phaseDims()
	n := roundUp(g.ho*wph, nr) // columns of C per image, a multiple of nr
	offs := g.paddedOffsets()  // where row r of B starts, in floats
	imgLen := max(g.cin*g.stride*g.stride*hph*wph, int(offs[len(offs)-1])+n)
	for r := range offs {
		offs[r] *= 4 // gemmInd takes byte offsets
	}
	mpad := roundUp(g.cout, mr)
	aLen, cLen := mpad*g.kdim, mpad*n
	at := m.layout(aLen, len(offs), g.n*imgLen, g.n*cLen, g.n*max(g.inSize, g.outSize), g.cout)
	aOff, oOff, bOff, cOff, xyOff, biasOff := at[0], at[1], at[2], at[3], at[4], at[5]

	st := getBuf(max(aLen+g.cout, g.n*imgLen)) // Go-side staging
	defer putBuf(st)
	packA(st, false, w, g.kdim, 0, g.cout, 0, g.kdim, mr)
	m.put(aOff, asBytes(st[:aLen]))
	m.put(oOff, asBytes(offs))
	if b == nil {
		b = st[aLen : aLen+g.cout]
		clear(b)
	}
	m.put(biasOff, asBytes(b[:g.cout]))

	switch {
	case g.stride == 1 && imgLen == g.inSize: // 1×1 without padding: the images are the column matrices
		m.put(bOff, asBytes(x[:g.n*g.inSize]))
	case g.stride == 1:
		m.put(xyOff, asBytes(x[:g.n*g.inSize]))
		m.padFn.Invoke(xyOff, bOff, g.n, g.cin, g.h, g.w, g.pad, 4*imgLen)
	default:
		cols := st[:g.n*imgLen]
		for i := 0; i < g.n; i++ {
			g.padImage(x[i*g.inSize:(i+1)*g.inSize], cols[i*imgLen:(i+1)*imgLen])
		}
		m.put(bOff, asBytes(cols))
	}
	m.gemmFn.Invoke(g.kdim, aOff, mpad, oOff, bOff, n, cOff, g.n, 4*imgLen, 4*cLen)
	m.unpadFn.Invoke(cOff, xyOff, g.n, g.cout, g.ho, g.wo, wph, n, 4*cLen, biasOff)
	m.get(y[:g.n*g.outSize], xyOff)
	return true
}

// gemm is CPU.GEMM for beta = 0 (the attention's products): per matrix of
// the batch, op(A) packed and scaled by alpha, op(B) copied row by row (n
// rounded up to 8 with zeros), and gemmInd with B's rows at fixed offsets.
func (m *simdModule) gemm(mm, n, k, batch int, alpha float32, a, b Mat, beta float32, c Mat) bool {
	const mr, nr = simdMR, simdNR
	if beta != 0 || mm == 0 || n == 0 || k == 0 || batch == 0 {
		return false
	}
	mpad, npad := roundUp(mm, mr), roundUp(n, nr)
	aLen, bLen, cLen := mpad*k, k*npad, mpad*npad
	at := m.layout(batch*aLen, k, batch*bLen, batch*cLen)
	aOff, oOff, bOff, cOff := at[0], at[1], at[2], at[3]

	st := getBuf(max(batch*aLen, batch*bLen, batch*cLen))
	defer putBuf(st)
	for i := 0; i < batch; i++ {
		pa := st[i*aLen : (i+1)*aLen]
		packA(pa, a.Trans, a.T.Data[a.Off+i*a.Stride:], a.Ld, 0, mm, 0, k, mr)
		if alpha != 1 {
			for j := range pa {
				pa[j] *= alpha
			}
		}
	}
	m.put(aOff, asBytes(st[:batch*aLen]))
	offs := make([]int32, k)
	for r := range offs {
		offs[r] = int32(4 * r * npad)
	}
	m.put(oOff, asBytes(offs))
	clear(st[:batch*bLen])
	for i := 0; i < batch; i++ {
		src, dst := b.T.Data[b.Off+i*b.Stride:], st[i*bLen:(i+1)*bLen]
		for r := 0; r < k; r++ {
			row := dst[r*npad : r*npad+n]
			if !b.Trans {
				copy(row, src[r*b.Ld:])
				continue
			}
			for j := range row {
				row[j] = src[j*b.Ld+r]
			}
		}
	}
	m.put(bOff, asBytes(st[:batch*bLen]))
	for i := 0; i < batch; i++ {
		m.gemmFn.Invoke(k, aOff+4*i*aLen, mpad, oOff, bOff+4*i*bLen, npad, cOff+4*i*cLen, 1, 0, 0)
	}
	out := st[:batch*cLen]
	m.get(out, cOff)
	for i := 0; i < batch; i++ {
		dst := c.T.Data[c.Off+i*c.Stride:]
		for r := 0; r < mm; r++ {
			copy(dst[r*c.Ld:r*c.Ld+n], out[i*cLen+r*npad:])
		}
	}
	return true
}

// silu is CPU.SiLU with sig, four lanes at a time; a tail of fewer than four
// floats is left to Go.
func (m *simdModule) silu(y, sig, x []float32) bool {
	n := len(x) / 4 * 4
	if n == 0 {
		return false
	}
	at := m.layout(n, n, n)
	m.put(at[0], asBytes(x[:n]))
	m.siluFn.Invoke(at[0], at[1], at[2], n)
	m.get(y[:n], at[1])
	m.get(sig[:n], at[2])
	for i := n; i < len(x); i++ {
		sig[i] = sigmoid(x[i])
		y[i] = x[i] * sig[i]
	}
	return true
}

// softmaxRows is CPU.SoftmaxRows; the rows must be a multiple of four long.
func (m *simdModule) softmaxRows(y, x []float32, d int) bool {
	if d%4 != 0 || len(x) == 0 {
		return false
	}
	at := m.layout(len(x))
	m.put(at[0], asBytes(x))
	m.smFn.Invoke(at[0], at[0], len(x)/d, d)
	m.get(y[:len(x)], at[0])
	return true
}

// groupNorm is CPU.GroupNorm; the channel size must be a multiple of four.
func (m *simdModule) groupNorm(y, mean, rstd, x, gamma, beta []float32, n, c, groups int, eps float32) bool {
	size := len(x) / (n * c)
	if size%4 != 0 || c%groups != 0 {
		return false
	}
	at := m.layout(len(x), len(x), c, c, n*groups, n*groups)
	m.put(at[0], asBytes(x))
	m.put(at[2], asBytes(gamma[:c]))
	m.put(at[3], asBytes(beta[:c]))
	m.gnFn.Invoke(at[0], at[1], n*groups, groups, c/groups, size, at[2], at[3], at[4], at[5], float64(eps))
	m.get(y[:len(x)], at[1])
	m.get(mean[:n*groups], at[4])
	m.get(rstd[:n*groups], at[5])
	return true
}
