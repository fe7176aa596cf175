//go:build js && wasm

// Package jsfloat copies float32 slices to and from JavaScript
// Float32Arrays, for the page's two Go programs (the drawing program and the
// compute worker).
package jsfloat

import (
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

// Array copies v into a new JavaScript Float32Array.
func Array(v []float32) js.Value {
	a := js.Global().Get("Float32Array").New(len(v))
	js.CopyBytesToJS(js.Global().Get("Uint8Array").New(a.Get("buffer")), bytes(v))
	return a
}

// bytes views float32s as their little-endian bytes (wasm is little-endian).
func bytes(v []float32) []byte {
	if len(v) == 0 {
		return nil
	}
	return unsafe.Slice((*byte)(unsafe.Pointer(&v[0])), 4*len(v))
}
