package unet

import (
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"slices"
	"strconv"
	"strings"

	"github.com/ddpm-go/ddpm/ddpm"
	"github.com/ddpm-go/ddpm/ddpm/nn"
	"github.com/ddpm-go/ddpm/ddpm/safetensors"
)

// FormatVersion is written to every weights file's metadata under "format".
const FormatVersion = "ddpm-go/1"

// Metadata keys this package reads and writes.
const (
	MetaFormat = "format"
	MetaConfig = "config"
)

// Tensors returns the model's parameters as safetensors tensors holding the
// values of flat (Weights, or a trainer's EMA), stored as dtype.
func (m *Model) Tensors(flat *nn.Tensor, dtype safetensors.DType) []*safetensors.Tensor {
	host := make([]float32, flat.Len())
	m.Backend.Download(host, flat)
	var out []*safetensors.Tensor
	off := 0
	for _, p := range m.Params {
		n := numel(p.Shape)
		out = append(out, &safetensors.Tensor{Name: p.Name, DType: dtype, Shape: p.Shape, Data: host[off : off+n]})
		off += n
	}
	return out
}

// Save writes the values of flat (Weights, or a trainer's EMA) to path
// atomically, with the config and extra metadata (schedule, step, …).
func (m *Model) Save(path string, flat *nn.Tensor, dtype safetensors.DType, extra map[string]string) error {
	meta := maps.Clone(extra)
	if meta == nil {
		meta = map[string]string{}
	}
	meta[MetaFormat] = FormatVersion
	meta[MetaConfig] = m.Config.String()
	return safetensors.WriteFile(path, meta, m.Tensors(flat, dtype))
}

// FromFile builds a model on be from a decoded weights file, checking that
// the file's config is valid and that its tensors are exactly the network's.
func FromFile(f *safetensors.File, be nn.Backend) (*Model, error) {
	if v := f.Metadata[MetaFormat]; v != FormatVersion {
		return nil, fmt.Errorf("weights: format %q, want %q (not a weights file of this project?)", v, FormatVersion)
	}
	var cfg Config
	d := json.NewDecoder(strings.NewReader(f.Metadata[MetaConfig]))
	d.DisallowUnknownFields()
	if err := d.Decode(&cfg); err != nil {
		return nil, fmt.Errorf("weights: bad config in metadata: %v", err)
	}
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("weights: %w", err)
	}
	if err := cfg.CheckMemory(1, false, DefaultMemoryLimit); err != nil {
		return nil, fmt.Errorf("weights: %w", err)
	}
	// The tensors are checked against the layout before anything of the
	// network's size is allocated.
	m, err := build(cfg, be)
	if err != nil {
		return nil, fmt.Errorf("weights: %w", err)
	}
	if err := m.checkTensors(f); err != nil {
		return nil, err
	}
	m.allocate(func(q *Param, w []float32) { copy(w, f.Tensor(q.Name).Data) })
	return m, nil
}

// checkTensors reports the first difference between the parameters of m
// and the tensors of f: one missing, of another shape, or one too many.
func (m *Model) checkTensors(f *safetensors.File) error {
	seen := map[string]bool{}
	for _, p := range m.Params {
		t := f.Tensor(p.Name)
		if t == nil {
			return fmt.Errorf("weights: tensor %q missing", p.Name)
		}
		if !equalShape(t.Shape, p.Shape) {
			return fmt.Errorf("weights: tensor %q has shape %v, the config needs %v", p.Name, t.Shape, p.Shape)
		}
		seen[p.Name] = true
	}
	for _, name := range f.Names() {
		if !seen[name] {
			return fmt.Errorf("weights: unexpected tensor %q (file and config disagree)", name)
		}
	}
	return nil
}

// SetWeights copies the tensors of f into flat (laid out like Weights),
// failing if any parameter is missing, has another shape, or f holds a tensor
// the network does not have.
func (m *Model) SetWeights(flat *nn.Tensor, f *safetensors.File) error {
	if err := m.checkTensors(f); err != nil {
		return err
	}
	host := make([]float32, m.NumParams())
	off := 0
	for _, p := range m.Params {
		n := numel(p.Shape)
		copy(host[off:off+n], f.Tensor(p.Name).Data)
		off += n
	}
	m.Backend.Upload(flat, host)
	return nil
}

// Load reads a weights file and builds the model it describes on be.
func Load(path string, be nn.Backend) (*Model, map[string]string, error) {
	if st, err := os.Stat(path); err == nil && st.IsDir() {
		return nil, nil, fmt.Errorf("%s is a folder: pass the weights file in it (a run folder's weights.safetensors)", path)
	}
	f, err := safetensors.ReadFile(path)
	if err != nil {
		return nil, nil, err
	}
	m, err := FromFile(f, be)
	if err != nil && f.Tensor(tensorEMA) != nil {
		return nil, nil, fmt.Errorf("%s is a training checkpoint, not weights: pass the weights.safetensors that its run wrote beside it", path)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", path, err)
	}
	return m, f.Metadata, nil
}

// ParamNames lists the parameter names in order (for documentation and tools).
func (m *Model) ParamNames() []string {
	var s []string
	for _, p := range m.Params {
		s = append(s, p.Name)
	}
	return slices.Clip(s)
}

// ScheduleOf returns the noise schedule recorded in a weights file's
// metadata (the paper's linear schedule with T=1000 when absent).
func ScheduleOf(meta map[string]string) (*ddpm.Schedule, error) {
	kind, T := meta[MetaSchedule], ddpm.DefaultT
	if kind == "" {
		kind = "linear"
	}
	if v, ok := meta[MetaTimesteps]; ok {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > ddpm.MaxT {
			return nil, fmt.Errorf("weights: %s %q is not a whole number in 1..%d", MetaTimesteps, v, ddpm.MaxT)
		}
		T = n
	}
	return ddpm.NewSchedule(kind, T)
}
