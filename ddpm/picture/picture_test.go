package picture

import (
	"image"
	"image/gif"
	"os"
	"path/filepath"
	"testing"
)

func TestGridLayoutAndLevels(t *testing.T) {
	// Two 2×2 images: all ink, all background.
	imgs := []float32{1, 1, 1, 1, -1, -1, -1, -1}
	g := Grid(imgs, 2, 2, 2, 1, 3)
	if w, h := g.Bounds().Dx(), g.Bounds().Dy(); w != 2*(2*3+1)+1 || h != 2*3+2 {
		t.Fatalf("grid %d×%d", w, h)
	}
	if v := g.GrayAt(1, 1).Y; v != 255 {
		t.Errorf("ink pixel %d, want 255", v)
	}
	if v := g.GrayAt(1+7, 1).Y; v != 0 {
		t.Errorf("background pixel %d, want 0", v)
	}
	if v := g.GrayAt(0, 0).Y; v != 40 {
		t.Errorf("padding %d, want 40", v)
	}
}

func TestSaveGIF(t *testing.T) {
	path := filepath.Join(t.TempDir(), "a.gif")
	frames := []*image.Gray{Gray([]float32{-1, 0, 1, 1}, 2), Gray([]float32{1, 1, 1, 1}, 2)}
	if err := SaveGIF(path, frames, 5, 100); err != nil {
		t.Fatal(err)
	}
	f, _ := os.Open(path)
	defer f.Close()
	g, err := gif.DecodeAll(f)
	if err != nil {
		t.Fatal(err)
	}
	if len(g.Image) != 2 || g.Delay[1] != 100 {
		t.Errorf("%d frames, delays %v", len(g.Image), g.Delay)
	}
}
