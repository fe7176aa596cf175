//go:build !(js && wasm)

package nn

import "errors"

// SetWasmSIMD switches the WebAssembly SIMD convolutions on or off and
// reports whether they are in use; outside a js/wasm build there are none.
func SetWasmSIMD(on bool) bool { return false }

// WasmSIMD says whether the convolutions run on WebAssembly SIMD, and if
// not, why.
func WasmSIMD() (bool, error) { return false, errors.New("not a WebAssembly build") }
