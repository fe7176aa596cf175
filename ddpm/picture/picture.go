// Package picture turns batches of images in [−1, 1] into the project's
// figures: grids, strips and animated GIFs, written atomically as PNG/GIF.
package picture

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"image/gif"
	"image/png"
	"os"

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

// ReadPNG reads a PNG image as one size×size image in [−1, 1], the way the
// figures are drawn: bright is ink (1), dark is background (−1). Colours are
// turned to grey and the image is scaled to size×size bilinearly.
func ReadPNG(path string, size int) ([]float32, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	cfg, err := png.DecodeConfig(bytes.NewReader(b))
	if err != nil {
		return nil, fmt.Errorf("%s: not a PNG image: %v", path, err)
	}
	if w, h := cfg.Width, cfg.Height; w < 1 || h < 1 || w > 4096 || h > 4096 {
		return nil, fmt.Errorf("%s: %d×%d pixels, want 1..4096 a side", path, w, h)
	}
	img, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		return nil, fmt.Errorf("%s: not a PNG image: %v", path, err)
	}
	r := img.Bounds()
	w, h := r.Dx(), r.Dy()
	at := func(x, y int) float64 {
		c := color.GrayModel.Convert(img.At(r.Min.X+x, r.Min.Y+y)).(color.Gray)
		return float64(c.Y) / 255
	}
	out := make([]float32, size*size)
	for y := 0; y < size; y++ {
		sy := max((float64(y)+0.5)*float64(h)/float64(size)-0.5, 0)
		y0 := min(int(sy), h-1)
		y1, fy := min(y0+1, h-1), sy-float64(y0)
		for x := 0; x < size; x++ {
			sx := max((float64(x)+0.5)*float64(w)/float64(size)-0.5, 0)
			x0 := min(int(sx), w-1)
			x1, fx := min(x0+1, w-1), sx-float64(x0)
			v := (1-fy)*((1-fx)*at(x0, y0)+fx*at(x1, y0)) + fy*((1-fx)*at(x0, y1)+fx*at(x1, y1))
			out[y*size+x] = float32(2*v - 1)
		}
	}
	return out, nil
}
