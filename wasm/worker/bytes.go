//go:build js && wasm

package main

import "unsafe"

// unsafeBytes views float32s as their little-endian bytes (wasm is little-endian).
func unsafeBytes(v []float32) []byte {
	if len(v) == 0 {
		return nil
	}
	return unsafe.Slice((*byte)(unsafe.Pointer(&v[0])), 4*len(v))
}
