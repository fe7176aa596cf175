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
	mem    js.Value // WebAssembly.Memory
	view   js.Value // Uint8Array over mem.buffer, renewed when it grows
	size   int      // bytes of mem
	gemmFn js.Value
	siluFn js.Value
	gnFn   js.Value
}

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
	m = &simdModule{mem: ex.Get("mem"), gemmFn: ex.Get("gemmInd"), siluFn: ex.Get("silu"), gnFn: ex.Get("groupNorm")}
	m.renew()
	return m, nil
}

func (m *simdModule) renew() {
	buf := m.mem.Get("buffer")
	m.view = js.Global().Get("Uint8Array").New(buf)
	m.size = buf.Get("byteLength").Int()
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
	js.CopyBytesToJS(m.view.Call("subarray", off, off+len(b)), b)
}

func (m *simdModule) get(f []float32, off int) {
	b := asBytes(f)
	js.CopyBytesToGo(b, m.view.Call("subarray", off, off+len(b)))
}

// asBytes is s's memory as bytes (WebAssembly is little-endian like the module).
func asBytes[T float32 | int32](s []T) []byte {
	if len(s) == 0 {
		return nil
	}
	return unsafe.Slice((*byte)(unsafe.Pointer(&s[0])), 4*len(s))
}

// conv computes y = conv(x, w) for the whole batch as one indirect GEMM per
// image: W [cout, kdim] times a column matrix whose row p is the image read
// from offset offs[p]. For stride 1 that is the zero-padded image itself
// (outputs wp wide, the extra columns dropped); otherwise the im2col matrix.
func (m *simdModule) conv(g *conv, w, x, y []float32) bool {
	const mr, nr = 4, 8 // the tile of simd128.wat's gemmInd
	var (
		n      int     // columns of C per image, a multiple of nr
		offs   []int32 // where row p of B starts, in floats
		imgLen int     // floats of one image's B
	)
	if g.stride == 1 {
		hp, wp := g.h+2*g.pad, g.w+2*g.pad
		n = (g.ho*wp + nr - 1) / nr * nr
		offs = g.paddedOffsets()
		imgLen = max(g.cin*hp*wp, int(offs[len(offs)-1])+n)
	} else {
		if g.l%nr != 0 {
			return false
		}
		n = g.l
		offs = make([]int32, g.kdim)
		for r := range offs {
			offs[r] = int32(r * n)
		}
		imgLen = g.kdim * n
	}
	for r := range offs {
		offs[r] *= 4 // gemmInd takes byte offsets
	}
	mpad := (g.cout + mr - 1) / mr * mr
	aLen, cLen := mpad*g.kdim, mpad*n
	at := m.layout(aLen, len(offs), g.n*imgLen, g.n*cLen)
	aOff, oOff, bOff, cOff := at[0], at[1], at[2], at[3]

	st := getBuf(max(aLen, g.n*imgLen, g.n*cLen)) // Go-side staging of what goes in and out
	defer putBuf(st)
	packA(st, false, w, g.kdim, 0, g.cout, 0, g.kdim, mr)
	m.put(aOff, asBytes(st[:aLen]))
	m.put(oOff, asBytes(offs))

	b := st[:g.n*imgLen]
	for i := 0; i < g.n; i++ {
		img, dst := x[i*g.inSize:(i+1)*g.inSize], b[i*imgLen:(i+1)*imgLen]
		if g.stride == 1 {
			g.padImage(img, dst)
		} else {
			g.cols(img, dst)
		}
	}
	m.put(bOff, asBytes(b))
	m.gemmFn.Invoke(g.kdim, aOff, mpad, oOff, bOff, n, cOff, g.n, 4*imgLen, 4*cLen)

	c := st[:g.n*cLen]
	m.get(c, cOff)
	for i := 0; i < g.n; i++ {
		out, src := y[i*g.outSize:(i+1)*g.outSize], c[i*cLen:]
		if g.stride == 1 {
			g.unpad(out, src, n)
		} else {
			copy(out, src[:g.outSize]) // n = l: rows are already contiguous
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
