package main

import (
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/ddpm-go/ddpm/ddpm/mnist"
	"github.com/ddpm-go/ddpm/ddpm/picture"
)

// Tile (r, c) of the sheet is the c-th digit r of the set, pixel for pixel.
func TestSheetRowsAreClasses(t *testing.T) {
	dir, err := mnist.Dir("")
	if err != nil {
		t.Fatal(err)
	}
	set, err := mnist.Load(dir, mnist.Test, 32)
	if err != nil {
		t.Fatal(err)
	}
	img, err := sheet(set, 3)
	if err != nil {
		t.Fatal(err)
	}
	if b := img.Bounds(); b.Dx() != 3*32 || b.Dy() != 10*32 {
		t.Fatalf("sheet is %v, want 96×320", b)
	}
	seen := make([]int, 10)
	for i, l := range set.Labels {
		c := seen[l]
		if c == 3 {
			continue
		}
		seen[l]++
		want := picture.Gray(set.Image(i), 32)
		for y := range 32 {
			for x := range 32 {
				if got := img.GrayAt(c*32+x, l*32+y).Y; got != want.GrayAt(x, y).Y {
					t.Fatalf("digit %d #%d (test image %d): pixel (%d,%d) is %d, want %d", l, c, i, x, y, got, want.GrayAt(x, y).Y)
				}
			}
		}
	}
	if _, err := sheet(&mnist.Set{Size: 32, Labels: []int{1}, Images: make([]float32, 1024)}, 1); err == nil {
		t.Error("a set without every class gave no error")
	}
}

// -digit writes the first test digit of its class alone, pixel for pixel.
func TestOneDigit(t *testing.T) {
	dir, err := mnist.Dir("")
	if err != nil {
		t.Fatal(err)
	}
	set, err := mnist.Load(dir, mnist.Test, 32)
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "digit.png")
	if err := run(out, "", 30, 3); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	if b := img.Bounds(); b.Dx() != 32 || b.Dy() != 32 {
		t.Fatalf("digit is %v, want 32×32", b)
	}
	first := slices.Index(set.Labels, 3)
	want := picture.Gray(set.Image(first), 32)
	b := img.Bounds()
	for y := range 32 {
		for x := range 32 {
			if got := color.GrayModel.Convert(img.At(b.Min.X+x, b.Min.Y+y)).(color.Gray).Y; got != want.GrayAt(x, y).Y {
				t.Fatalf("pixel (%d,%d) is %d, want %d (test image %d)", x, y, got, want.GrayAt(x, y).Y, first)
			}
		}
	}
	if err := run(out, "", 30, 10); err == nil {
		t.Error("-digit 10 accepted")
	}
}
