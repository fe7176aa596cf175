// Package safetensors reads and writes the safetensors format: an 8-byte
// little-endian header length, a JSON header naming each tensor's dtype, shape
// and byte range, then the raw little-endian data. Tensors are float32 in
// memory and stored as F32 or F16.
//
// Decoding validates everything and names the problem in its error; it never
// panics on bad input (see FuzzDecode).
package safetensors

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"sort"
)

// DType is a storage type.
type DType string

// The storage types this package reads and writes.
const (
	F32 DType = "F32"
	F16 DType = "F16"
)

func (d DType) size() int {
	switch d {
	case F32:
		return 4
	case F16:
		return 2
	}
	return 0
}

// MaxHeaderSize bounds the JSON header, as the reference implementation does.
const MaxHeaderSize = 100 << 20

// Tensor is one named array.
type Tensor struct {
	Name  string
	DType DType // storage type in the file
	Shape []int
	Data  []float32
}

// File is a decoded safetensors file.
type File struct {
	Metadata map[string]string
	Tensors  []*Tensor // in file order
}

// Tensor returns the tensor with the given name, or nil.
func (f *File) Tensor(name string) *Tensor {
	for _, t := range f.Tensors {
		if t.Name == name {
			return t
		}
	}
	return nil
}

type entry struct {
	DType   DType    `json:"dtype"`
	Shape   []int    `json:"shape"`
	Offsets [2]int64 `json:"data_offsets"`
}

// ErrFormat is wrapped by every decoding error.
var ErrFormat = errors.New("safetensors")

func formatErr(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrFormat}, args...)...)
}

// Decode parses and validates a whole file held in memory.
func Decode(b []byte) (*File, error) {
	if len(b) < 8 {
		return nil, formatErr("file is %d bytes, too short for the 8-byte header length (truncated?)", len(b))
	}
	n := binary.LittleEndian.Uint64(b[:8])
	if n > MaxHeaderSize {
		return nil, formatErr("header length %d exceeds the %d-byte limit (not a safetensors file?)", n, MaxHeaderSize)
	}
	if n > uint64(len(b)-8) {
		return nil, formatErr("header length %d exceeds the %d bytes after it (truncated file?)", n, len(b)-8)
	}
	header := b[8 : 8+n]
	data := b[8+n:]
	// The format's rules: the header starts with '{', may be padded with
	// spaces after the object, and has no duplicate keys.
	if len(header) == 0 || header[0] != '{' {
		return nil, formatErr("bad JSON header: it must start with '{'")
	}
	raw, end, err := decodeObject(header)
	if err != nil {
		return nil, formatErr("bad JSON header: %v", err)
	}
	if len(bytes.TrimRight(header[end:], " ")) != 0 {
		return nil, formatErr("bad JSON header: bytes other than space padding after the object")
	}
	f := &File{Metadata: map[string]string{}}
	if m, ok := raw["__metadata__"]; ok {
		md, _, err := decodeObject(m)
		if err != nil {
			return nil, formatErr("bad __metadata__: %v", err)
		}
		for k, v := range md {
			var s string
			if err := json.Unmarshal(v, &s); err != nil {
				return nil, formatErr("bad __metadata__: the value of %q is not a string", k)
			}
			f.Metadata[k] = s
		}
		delete(raw, "__metadata__")
	}
	entries := make(map[string]entry, len(raw))
	names := make([]string, 0, len(raw))
	for name, msg := range raw {
		var e entry
		d := json.NewDecoder(bytes.NewReader(msg))
		d.DisallowUnknownFields()
		if err := d.Decode(&e); err != nil {
			return nil, formatErr("tensor %q: bad header entry: %v", name, err)
		}
		if e.DType.size() == 0 {
			return nil, formatErr("tensor %q: unsupported dtype %q (want F32 or F16)", name, e.DType)
		}
		count := int64(1)
		for _, d := range e.Shape {
			if d < 0 || (d > 0 && count > math.MaxInt32/int64(d)) {
				return nil, formatErr("tensor %q: bad shape %v", name, e.Shape)
			}
			count *= int64(d)
		}
		begin, end := e.Offsets[0], e.Offsets[1]
		if begin < 0 || end < begin || end > int64(len(data)) {
			return nil, formatErr("tensor %q: data offsets [%d, %d] outside the %d data bytes (truncated file?)", name, begin, end, len(data))
		}
		if want := count * int64(e.DType.size()); end-begin != want {
			return nil, formatErr("tensor %q: shape %v of %s needs %d bytes, offsets give %d", name, e.Shape, e.DType, want, end-begin)
		}
		entries[name] = e
		names = append(names, name)
	}
	// File order is data order; ranges must not overlap.
	sort.Slice(names, func(i, j int) bool {
		a, b := entries[names[i]].Offsets, entries[names[j]].Offsets
		return a[0] < b[0] || (a[0] == b[0] && names[i] < names[j])
	})
	// The byte buffer is entirely indexed, without holes (the format forbids
	// them, so that no other file hides in the gaps).
	var last int64
	for _, name := range names {
		o := entries[name].Offsets
		if o[0] < last {
			return nil, formatErr("tensor %q: data [%d, %d] overlaps the previous tensor's", name, o[0], o[1])
		}
		if o[0] > last {
			return nil, formatErr("tensor %q: data starts at byte %d, leaving bytes %d..%d of the buffer unused", name, o[0], last, o[0])
		}
		last = o[1]
	}
	if last != int64(len(data)) {
		return nil, formatErr("the tensors use %d of the %d data bytes (trailing bytes are not allowed)", last, len(data))
	}
	for _, name := range names {
		e := entries[name]
		t := &Tensor{Name: name, DType: e.DType, Shape: e.Shape}
		if t.Shape == nil {
			t.Shape = []int{}
		}
		t.Data = decodeValues(data[e.Offsets[0]:e.Offsets[1]], e.DType)
		for i, v := range t.Data {
			if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
				return nil, formatErr("tensor %q: value %d is %v (corrupt or diverged weights)", name, i, v)
			}
		}
		f.Tensors = append(f.Tensors, t)
	}
	return f, nil
}

// decodeObject decodes a JSON object into its raw values, rejecting
// duplicate keys (also when spelled with different escapes), and returns the
// offset just past the object.
func decodeObject(b []byte) (map[string]json.RawMessage, int, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return nil, 0, fmt.Errorf("not a JSON object")
	}
	out := map[string]json.RawMessage{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, 0, err
		}
		key := tok.(string) // object keys are always strings
		if _, dup := out[key]; dup {
			return nil, 0, fmt.Errorf("duplicate key %q", key)
		}
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, 0, err
		}
		out[key] = v
	}
	if _, err := dec.Token(); err != nil { // the closing brace
		return nil, 0, err
	}
	return out, int(dec.InputOffset()), nil
}

func decodeValues(b []byte, d DType) []float32 {
	out := make([]float32, len(b)/d.size())
	for i := range out {
		if d == F16 {
			out[i] = HalfToFloat(binary.LittleEndian.Uint16(b[2*i:]))
		} else {
			out[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
		}
	}
	return out
}

// Encode writes tensors (in the given order) and metadata to w.
func Encode(w io.Writer, metadata map[string]string, tensors []*Tensor) error {
	header := map[string]any{}
	if len(metadata) > 0 {
		header["__metadata__"] = metadata
	}
	var off int64
	for _, t := range tensors {
		if t.DType.size() == 0 {
			return fmt.Errorf("safetensors: tensor %q: unsupported dtype %q", t.Name, t.DType)
		}
		if _, dup := header[t.Name]; dup || t.Name == "__metadata__" {
			return fmt.Errorf("safetensors: duplicate or reserved tensor name %q", t.Name)
		}
		n := 1
		for _, d := range t.Shape {
			n *= d
		}
		if n != len(t.Data) {
			return fmt.Errorf("safetensors: tensor %q: shape %v holds %d values, data has %d", t.Name, t.Shape, n, len(t.Data))
		}
		size := int64(n * t.DType.size())
		shape := t.Shape
		if shape == nil {
			shape = []int{}
		}
		header[t.Name] = entry{DType: t.DType, Shape: shape, Offsets: [2]int64{off, off + size}}
		off += size
	}
	h, err := json.Marshal(header)
	if err != nil {
		return err
	}
	// Pad the header with spaces so the data starts 8-byte aligned.
	for len(h)%8 != 0 {
		h = append(h, ' ')
	}
	buf := make([]byte, 8, 8+len(h)+int(off))
	binary.LittleEndian.PutUint64(buf, uint64(len(h)))
	buf = append(buf, h...)
	for _, t := range tensors {
		for _, v := range t.Data {
			if t.DType == F16 {
				buf = binary.LittleEndian.AppendUint16(buf, FloatToHalf(v))
			} else {
				buf = binary.LittleEndian.AppendUint32(buf, math.Float32bits(v))
			}
		}
	}
	_, err = w.Write(buf)
	return err
}

// WriteFile encodes to path atomically: it writes a temporary file in the
// same folder, syncs it and renames it into place, so a crash or a full disk
// never leaves a half-written file under path.
func WriteFile(path string, metadata map[string]string, tensors []*Tensor) error {
	var b bytes.Buffer
	if err := Encode(&b, metadata, tensors); err != nil {
		return err
	}
	return AtomicWrite(path, b.Bytes())
}

// CheckWritable makes path's folder if it is missing and checks that a file
// can be created there, so that a long job refuses at its start rather than
// losing its work at the end.
func CheckWritable(path string) error {
	if st, err := os.Stat(path); err == nil && st.IsDir() {
		return fmt.Errorf("cannot write %s: it is a folder", path)
	}
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("cannot write %s: %w", path, err)
	}
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return fmt.Errorf("cannot write %s: %w", path, err)
	}
	f.Close()
	if err := os.Remove(f.Name()); err != nil {
		return fmt.Errorf("cannot write %s: %w", path, err)
	}
	return nil
}

// AtomicWrite writes data to path through a temporary file and a rename.
func AtomicWrite(path string, data []byte) (err error) {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if err = tmp.Chmod(0o644); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if _, err = tmp.Write(data); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err = tmp.Sync(); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err = tmp.Close(); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return os.Rename(tmp.Name(), path)
}

// ReadFile reads and decodes the file at path.
func ReadFile(path string) (*File, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	f, err := Decode(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return f, nil
}

// Names returns the tensor names in file order.
func (f *File) Names() []string {
	var s []string
	for _, t := range f.Tensors {
		s = append(s, t.Name)
	}
	return slices.Clip(s)
}
