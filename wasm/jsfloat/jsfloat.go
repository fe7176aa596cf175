//go:build js && wasm

// Package jsfloat copies float32 slices to and from JavaScript
// Float32Arrays, for the page's two Go programs (the drawing program and the
// compute worker).
package jsfloat

import (
	"strconv"
	"syscall/js"
	"unsafe"
)

// Copy copies a JavaScript Float32Array into a new slice; anything else
// gives nil.
func Copy(a js.Value) []float32 {
	if a.Type() != js.TypeObject || !a.InstanceOf(js.Global().Get("Float32Array")) {
		return nil
	}
	v := make([]float32, a.Get("length").Int())
	js.CopyBytesToGo(bytes(v), js.Global().Get("Uint8Array").New(a.Get("buffer"), a.Get("byteOffset"), 4*len(v)))
	return v
}

// Writer copies float32 slices into one JavaScript Float32Array, again and
// again, without creating a JavaScript object per copy.
type Writer struct {
	bytes js.Value // a Uint8Array view of the Float32Array
	n     int
}

// NewWriter returns a Writer into a, which must be a Float32Array of n
// values.
func NewWriter(a js.Value, n int) (Writer, bool) {
	if a.Type() != js.TypeObject || !a.InstanceOf(js.Global().Get("Float32Array")) || a.Get("length").Int() != n {
		return Writer{}, false
	}
	return Writer{js.Global().Get("Uint8Array").New(a.Get("buffer"), a.Get("byteOffset"), 4*n), n}, true
}

// Write copies v, whose length must be the array's, into the array.
func (w Writer) Write(v []float32) {
	if len(v) != w.n {
		panic("jsfloat: writing " + strconv.Itoa(len(v)) + " values into a Float32Array of " + strconv.Itoa(w.n))
	}
	js.CopyBytesToJS(w.bytes, bytes(v))
}

// bytes views float32s as their little-endian bytes (wasm is little-endian).
func bytes(v []float32) []byte {
	if len(v) == 0 {
		return nil
	}
	return unsafe.Slice((*byte)(unsafe.Pointer(&v[0])), 4*len(v))
}
