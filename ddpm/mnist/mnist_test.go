package mnist

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestLoadRealMNIST(t *testing.T) {
	dir, err := DefaultDir()
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		split Split
		n     int
	}{{Test, 10000}, {Train, 60000}} {
		s, err := Load(dir, tc.split, 32)
		if err != nil {
			t.Fatal(err)
		}
		if s.N != tc.n || len(s.Images) != tc.n*32*32 {
			t.Fatalf("%s: %d images, want %d", tc.split, s.N, tc.n)
		}
		var counts [10]int
		for _, l := range s.Labels {
			counts[l]++
		}
		for d, c := range counts {
			if c < tc.n/20 {
				t.Errorf("%s: only %d images of digit %d", tc.split, c, d)
			}
		}
		lo, hi, ink := float32(1), float32(-1), 0
		for _, v := range s.Images {
			lo, hi = min(lo, v), max(hi, v)
			if v > 0 {
				ink++
			}
		}
		// MNIST is mostly background (−1) with ~15–20% ink.
		frac := float64(ink) / float64(len(s.Images))
		if lo != -1 || hi < 0.99 || hi > 1 || frac < 0.08 || frac > 0.3 {
			t.Errorf("%s: range [%v, %v], ink fraction %.3f", tc.split, lo, hi, frac)
		}
	}
}

func writeIDX(t *testing.T, path string, magic uint32, dims []uint32, data []byte, gz bool) {
	t.Helper()
	var b bytes.Buffer
	binary.Write(&b, binary.BigEndian, magic)
	binary.Write(&b, binary.BigEndian, dims)
	b.Write(data)
	out := b.Bytes()
	if gz {
		var z bytes.Buffer
		w := gzip.NewWriter(&z)
		w.Write(out)
		w.Close()
		out = z.Bytes()
		path += ".gz"
	}
	if err := os.WriteFile(path, out, 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestLoadSmallFilesAndResize(t *testing.T) {
	dir := t.TempDir()
	img := make([]byte, 2*4*4)
	for i := range img[:16] {
		img[i] = 255 // image 0 all ink, image 1 all background
	}
	writeIDX(t, filepath.Join(dir, "t10k-images-idx3-ubyte"), 0x803, []uint32{2, 4, 4}, img, false)
	writeIDX(t, filepath.Join(dir, "t10k-labels-idx1-ubyte"), 0x801, []uint32{2}, []byte{3, 9}, true)
	s, err := Load(dir, Test, 8)
	if err != nil {
		t.Fatal(err)
	}
	if s.N != 2 || s.Labels[0] != 3 || s.Labels[1] != 9 {
		t.Fatalf("got %d images, labels %v", s.N, s.Labels)
	}
	for i, v := range s.Image(0) {
		if v != 1 || s.Image(1)[i] != -1 {
			t.Fatalf("pixel %d: %v, %v; want 1, −1", i, v, s.Image(1)[i])
		}
	}
}

func TestLoadRejects(t *testing.T) {
	good := func(dir string) {
		writeIDX(t, filepath.Join(dir, "t10k-images-idx3-ubyte"), 0x803, []uint32{1, 2, 2}, make([]byte, 4), false)
		writeIDX(t, filepath.Join(dir, "t10k-labels-idx1-ubyte"), 0x801, []uint32{1}, []byte{1}, false)
	}
	for _, tc := range []struct {
		name, want string
		mess       func(dir string)
	}{
		{"missing", "not found", func(dir string) { os.Remove(filepath.Join(dir, "t10k-labels-idx1-ubyte")) }},
		{"bad magic", "magic", func(dir string) {
			writeIDX(t, filepath.Join(dir, "t10k-images-idx3-ubyte"), 0x801, []uint32{1, 2, 2}, make([]byte, 4), false)
		}},
		{"truncated", "truncated", func(dir string) {
			writeIDX(t, filepath.Join(dir, "t10k-images-idx3-ubyte"), 0x803, []uint32{2, 2, 2}, make([]byte, 4), false)
		}},
		{"a header claiming 10 TB", "promises 10485760000000 bytes of data, the file holds 4", func(dir string) {
			writeIDX(t, filepath.Join(dir, "t10k-images-idx3-ubyte"), 0x803, []uint32{10_000_000, 1024, 1024}, make([]byte, 4), false)
		}},
		{"the same, gzipped", "promises 10485760000000 bytes", func(dir string) {
			os.Remove(filepath.Join(dir, "t10k-images-idx3-ubyte"))
			writeIDX(t, filepath.Join(dir, "t10k-images-idx3-ubyte"), 0x803, []uint32{10_000_000, 1024, 1024}, make([]byte, 4), true)
		}},
		{"count mismatch", "labels", func(dir string) {
			writeIDX(t, filepath.Join(dir, "t10k-labels-idx1-ubyte"), 0x801, []uint32{2}, []byte{1, 2}, false)
		}},
		{"bad label", "not a digit", func(dir string) {
			writeIDX(t, filepath.Join(dir, "t10k-labels-idx1-ubyte"), 0x801, []uint32{1}, []byte{12}, false)
		}},
		{"bad gzip", "gzip", func(dir string) {
			os.Remove(filepath.Join(dir, "t10k-labels-idx1-ubyte"))
			os.WriteFile(filepath.Join(dir, "t10k-labels-idx1-ubyte.gz"), []byte("not gzip"), 0o644)
		}},
	} {
		dir := t.TempDir()
		good(dir)
		tc.mess(dir)
		_, err := Load(dir, Test, 32)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want one mentioning %q", tc.name, err, tc.want)
		}
	}
	if _, err := Load(t.TempDir(), Train, 32); err == nil || !strings.Contains(err.Error(), "not found") {
		t.Errorf("empty folder: %v", err)
	}
}
