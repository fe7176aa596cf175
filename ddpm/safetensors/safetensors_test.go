package safetensors

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func sample() []*Tensor {
	return []*Tensor{
		{Name: "a.weight", DType: F32, Shape: []int{2, 3}, Data: []float32{1, -2, 3.5, 0, 1e-8, 7}},
		{Name: "b", DType: F16, Shape: []int{2}, Data: []float32{0.5, -1.25}},
		{Name: "scalar", DType: F32, Shape: []int{}, Data: []float32{42}},
	}
}

func encode(t *testing.T, meta map[string]string, ts []*Tensor) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := Encode(&b, meta, ts); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func TestRoundTrip(t *testing.T) {
	b := encode(t, map[string]string{"format": "test"}, sample())
	if hl := binary.LittleEndian.Uint64(b); hl%8 != 0 {
		t.Errorf("header length %d not 8-aligned", hl)
	}
	f, err := Decode(b)
	if err != nil {
		t.Fatal(err)
	}
	if f.Metadata["format"] != "test" {
		t.Errorf("metadata %v", f.Metadata)
	}
	for _, want := range sample() {
		got := f.Tensor(want.Name)
		if got == nil {
			t.Fatalf("%s missing", want.Name)
		}
		if got.DType != want.DType || len(got.Shape) != len(want.Shape) {
			t.Errorf("%s: dtype %s shape %v", want.Name, got.DType, got.Shape)
		}
		for i, v := range want.Data {
			if got.Data[i] != v {
				t.Errorf("%s[%d] = %v, want %v", want.Name, i, got.Data[i], v)
			}
		}
	}
}

func TestHalf(t *testing.T) {
	for _, tc := range []struct {
		f float32
		h uint16
	}{{0, 0}, {1, 0x3c00}, {-2, 0xc000}, {65504, 0x7bff}, {1e6, 0x7c00}, {6.1035156e-05, 0x0400}, {5.9604645e-08, 0x0001}, {float32(math.Inf(-1)), 0xfc00}} {
		if got := FloatToHalf(tc.f); got != tc.h {
			t.Errorf("FloatToHalf(%v) = %#04x, want %#04x", tc.f, got, tc.h)
		}
		if tc.h != 0x7c00 && tc.f != 1e6 {
			if got := HalfToFloat(tc.h); got != tc.f {
				t.Errorf("HalfToFloat(%#04x) = %v, want %v", tc.h, got, tc.f)
			}
		}
	}
	// Every finite half survives a round trip through float32.
	for h := 0; h < 0x10000; h++ {
		if h&0x7c00 == 0x7c00 {
			continue
		}
		if got := FloatToHalf(HalfToFloat(uint16(h))); got != uint16(h) {
			t.Fatalf("round trip of %#04x gave %#04x", h, got)
		}
	}
}

func withHeader(h string, data []byte) []byte {
	b := binary.LittleEndian.AppendUint64(nil, uint64(len(h)))
	return append(append(b, h...), data...)
}

func TestDecodeRejects(t *testing.T) {
	good := encode(t, nil, sample())
	nan := encode(t, nil, []*Tensor{{Name: "x", DType: F32, Shape: []int{1}, Data: []float32{float32(math.NaN())}}})
	inf := encode(t, nil, []*Tensor{{Name: "x", DType: F32, Shape: []int{1}, Data: []float32{float32(math.Inf(1))}}})
	huge := binary.LittleEndian.AppendUint64(nil, 1<<40)
	for _, tc := range []struct {
		name, want string
		b          []byte
	}{
		{"empty", "too short", nil},
		{"truncated length", "too short", good[:5]},
		{"header too long", "exceeds the", binary.LittleEndian.AppendUint64(nil, 100)},
		{"header over limit", "limit", huge},
		{"truncated data", "outside", good[:len(good)-3]},
		{"bad json", "bad JSON", withHeader("{nope", nil)},
		{"not object", "bad JSON", withHeader("null", nil)},
		{"bad metadata", "__metadata__", withHeader(`{"__metadata__":{"a":1}}`, nil)},
		{"unknown dtype", "unsupported dtype", withHeader(`{"x":{"dtype":"I64","shape":[1],"data_offsets":[0,8]}}`, make([]byte, 8))},
		{"shape mismatch", "needs 8 bytes", withHeader(`{"x":{"dtype":"F32","shape":[2],"data_offsets":[0,4]}}`, make([]byte, 4))},
		{"negative shape", "bad shape", withHeader(`{"x":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}}`, make([]byte, 4))},
		{"offsets outside", "outside", withHeader(`{"x":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}`, make([]byte, 4))},
		{"reversed offsets", "outside", withHeader(`{"x":{"dtype":"F32","shape":[0],"data_offsets":[4,0]}}`, make([]byte, 4))},
		{"overlap", "overlaps", withHeader(`{"x":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"y":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}`, make([]byte, 8))},
		{"unknown field", "bad header entry", withHeader(`{"x":{"dtype":"F32","shape":[1],"data_offsets":[0,4],"zz":1}}`, make([]byte, 4))},
		{"duplicate tensor", "duplicate key \"x\"", withHeader(`{"x":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"x":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}`, make([]byte, 4))},
		{"duplicate by escape", "duplicate key \"x\"", withHeader(`{"x":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"\u0078":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}`, make([]byte, 4))},
		{"duplicate metadata", "duplicate key \"a\"", withHeader(`{"__metadata__":{"a":"1","a":"2"}}`, nil)},
		{"leading space", "start with '{'", withHeader(` {}`, nil)},
		{"trailing junk", "space padding", withHeader(`{}  x`, nil)},
		{"hole", "leaving bytes 0..4", withHeader(`{"x":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}`, make([]byte, 8))},
		{"trailing bytes", "use 4 of the 8", withHeader(`{"x":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}`, make([]byte, 8))},
		{"nan", "NaN", nan},
		{"inf", "Inf", inf},
	} {
		_, err := Decode(tc.b)
		if err == nil {
			t.Errorf("%s: decoded without error", tc.name)
			continue
		}
		if !errors.Is(err, ErrFormat) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %q does not mention %q", tc.name, err, tc.want)
		}
	}
}

func TestWriteFileIsAtomic(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "w.safetensors")
	if err := WriteFile(path, nil, sample()); err != nil {
		t.Fatal(err)
	}
	// A failed encode leaves the old file in place and no temp files behind.
	bad := []*Tensor{{Name: "x", DType: F32, Shape: []int{3}, Data: []float32{1}}}
	if err := WriteFile(path, nil, bad); err == nil {
		t.Fatal("WriteFile accepted a tensor whose shape does not match its data")
	}
	if _, err := ReadFile(path); err != nil {
		t.Fatalf("old file damaged: %v", err)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("folder holds %d entries, want 1", len(entries))
	}
	if err := WriteFile(filepath.Join(dir, "missing", "w.safetensors"), nil, sample()); err == nil {
		t.Error("WriteFile into a missing folder succeeded")
	}
}

func TestCheckWritable(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "new", "out.json")
	if err := CheckWritable(path); err != nil {
		t.Fatal(err)
	}
	if entries, err := os.ReadDir(filepath.Dir(path)); err != nil || len(entries) != 0 {
		t.Errorf("the folder was not made empty: %v, %v", entries, err)
	}
	file := filepath.Join(dir, "file")
	os.WriteFile(file, nil, 0o644)
	if err := CheckWritable(filepath.Join(file, "out.json")); err == nil || !strings.Contains(err.Error(), "cannot write") {
		t.Errorf("a path under a file: %v", err)
	}
	if err := CheckWritable(dir); err == nil || !strings.Contains(err.Error(), "is a folder") {
		t.Errorf("a folder as the path: %v", err)
	}
}

func FuzzDecode(f *testing.F) {
	var b bytes.Buffer
	Encode(&b, map[string]string{"k": "v"}, sample())
	f.Add(b.Bytes())
	f.Add(withHeader(`{"x":{"dtype":"F16","shape":[1],"data_offsets":[0,2]}}`, []byte{0, 0x3c}))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		file, err := Decode(data)
		if err != nil {
			return
		}
		// Whatever decodes must re-encode and decode to the same tensors.
		var out bytes.Buffer
		if err := Encode(&out, file.Metadata, file.Tensors); err != nil {
			t.Fatalf("re-encode: %v", err)
		}
		again, err := Decode(out.Bytes())
		if err != nil {
			t.Fatalf("decode of re-encoded file: %v", err)
		}
		if len(again.Tensors) != len(file.Tensors) {
			t.Fatalf("%d tensors after round trip, want %d", len(again.Tensors), len(file.Tensors))
		}
	})
}
