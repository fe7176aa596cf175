// Package picture turns batches of images in [−1, 1] into the project's
// figures: grids, strips and animated GIFs, written atomically as PNG/GIF.
package picture

import (
	"bytes"
	"image"
	"image/color"
	"image/draw"
	"image/gif"
	"image/png"

	"github.com/ddpm-go/ddpm/ddpm/safetensors"
)

// Gray converts one size×size image in [−1, 1] (1 = ink) to white ink on
// black, as the MNIST figures are usually drawn.
func Gray(img []float32, size int) *image.Gray {
	g := image.NewGray(image.Rect(0, 0, size, size))
	for i, v := range img[:size*size] {
		g.Pix[i] = uint8(max(0, min(255, (v+1)*127.5+0.5)))
	}
	return g
}

// Grid lays out n images (size×size each, end to end in imgs) in rows of
// cols, with pad pixels between them, scaled up by zoom.
func Grid(imgs []float32, n, size, cols, pad, zoom int) *image.Gray {
	rows := (n + cols - 1) / cols
	cell := size*zoom + pad
	g := image.NewGray(image.Rect(0, 0, cols*cell+pad, rows*cell+pad))
	draw.Draw(g, g.Bounds(), image.NewUniform(color.Gray{Y: 40}), image.Point{}, draw.Src)
	for i := 0; i < n; i++ {
		x0, y0 := pad+(i%cols)*cell, pad+(i/cols)*cell
		src := imgs[i*size*size : (i+1)*size*size]
		for y := 0; y < size*zoom; y++ {
			for x := 0; x < size*zoom; x++ {
				v := src[(y/zoom)*size+x/zoom]
				g.Pix[(y0+y)*g.Stride+x0+x] = uint8(max(0, min(255, (v+1)*127.5+0.5)))
			}
		}
	}
	return g
}

// EncodePNG returns img as PNG bytes.
func EncodePNG(img image.Image) ([]byte, error) {
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// SavePNG writes img to path atomically.
func SavePNG(path string, img image.Image) error {
	b, err := EncodePNG(img)
	if err != nil {
		return err
	}
	return safetensors.AtomicWrite(path, b)
}

// SaveGIF writes frames as an animated GIF (delay in 1/100 s per frame, the
// last frame held for hold) to path atomically.
func SaveGIF(path string, frames []*image.Gray, delay, hold int) error {
	anim := &gif.GIF{}
	pal := make(color.Palette, 256)
	for i := range pal {
		pal[i] = color.Gray{Y: uint8(i)}
	}
	for i, f := range frames {
		p := image.NewPaletted(f.Bounds(), pal)
		copy(p.Pix, f.Pix)
		anim.Image = append(anim.Image, p)
		d := delay
		if i == len(frames)-1 {
			d = hold
		}
		anim.Delay = append(anim.Delay, d)
	}
	var b bytes.Buffer
	if err := gif.EncodeAll(&b, anim); err != nil {
		return err
	}
	return safetensors.AtomicWrite(path, b.Bytes())
}
