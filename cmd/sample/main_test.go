package main

import (
	"slices"
	"testing"
)

func TestHalfMask(t *testing.T) {
	for _, tc := range []struct {
		name string
		want []float32 // 4×4, 1 keeps
	}{
		{"top", []float32{1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0}},
		{"bottom", []float32{0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1}},
		{"left", []float32{1, 1, 0, 0, 1, 1, 0, 0, 1, 1, 0, 0, 1, 1, 0, 0}},
		{"right", []float32{0, 0, 1, 1, 0, 0, 1, 1, 0, 0, 1, 1, 0, 0, 1, 1}},
		{"keep.png", nil},
	} {
		if got := halfMask(tc.name, 4); !slices.Equal(got, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
		}
	}
}
