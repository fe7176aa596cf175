package unet

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/ddpm-go/ddpm/ddpm"
	"github.com/ddpm-go/ddpm/ddpm/nn"
	"github.com/ddpm-go/ddpm/ddpm/safetensors"
)

func TestSaveLoadRoundTrip(t *testing.T) {
	be := nn.CPU{}
	m, _ := New(tinyConfig(), be, 7)
	path := filepath.Join(t.TempDir(), "w.safetensors")
	if err := m.Save(path, m.Weights, safetensors.F32, map[string]string{"step": "12"}); err != nil {
		t.Fatal(err)
	}
	got, meta, err := Load(path, be)
	if err != nil {
		t.Fatal(err)
	}
	if meta["step"] != "12" || got.Config.String() != m.Config.String() {
		t.Errorf("metadata %v", meta)
	}
	for i, v := range m.Weights.Data {
		if got.Weights.Data[i] != v {
			t.Fatalf("weight %d: %v != %v", i, got.Weights.Data[i], v)
		}
	}
	// float16 storage keeps ~3 significant digits.
	if err := m.Save(path, m.Weights, safetensors.F16, nil); err != nil {
		t.Fatal(err)
	}
	half, _, err := Load(path, be)
	if err != nil {
		t.Fatal(err)
	}
	for i, v := range m.Weights.Data {
		if d := half.Weights.Data[i] - v; d > 1e-3*max(1, v) || d < -1e-3*max(1, -v) {
			t.Fatalf("f16 weight %d: %v vs %v", i, half.Weights.Data[i], v)
		}
	}
}

func TestLoadRejectsMismatch(t *testing.T) {
	be := nn.CPU{}
	m, _ := New(tinyConfig(), be, 7)
	tensors := m.Tensors(m.Weights, safetensors.F32)
	meta := map[string]string{MetaFormat: FormatVersion, MetaConfig: m.Config.String()}
	other := tinyConfig()
	other.Channels = 8
	for _, tc := range []struct {
		name, want string
		meta       map[string]string
		tensors    []*safetensors.Tensor
	}{
		{"no format", "format", map[string]string{MetaConfig: m.Config.String()}, tensors},
		{"bad config", "bad config", map[string]string{MetaFormat: FormatVersion, MetaConfig: "{"}, tensors},
		{"invalid config", "groups", map[string]string{MetaFormat: FormatVersion, MetaConfig: `{"image_size":8,"in_channels":1,"channels":4,"channel_mults":[1],"num_res_blocks":1,"groups":0}`}, tensors},
		{"config of another net", "has shape", map[string]string{MetaFormat: FormatVersion, MetaConfig: other.String()}, tensors},
		{"missing tensor", "missing", meta, tensors[1:]},
		{"extra tensor", "unexpected", meta, append(append([]*safetensors.Tensor{}, tensors...), &safetensors.Tensor{Name: "extra", DType: safetensors.F32, Shape: []int{1}, Data: []float32{1}})},
	} {
		path := filepath.Join(t.TempDir(), "w.safetensors")
		if err := safetensors.WriteFile(path, tc.meta, tc.tensors); err != nil {
			t.Fatal(err)
		}
		_, _, err := Load(path, be)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want one mentioning %q", tc.name, err, tc.want)
		}
	}
}

// A run folder or its checkpoint passed for weights says what to pass.
func TestLoadNamesTheWeightsFile(t *testing.T) {
	be := nn.CPU{}
	m, _ := New(tinyConfig(), be, 7)
	dir := t.TempDir()
	ck := filepath.Join(dir, "checkpoint.safetensors")
	if err := NewTrainer(m, ddpm.NewLinear(10, 1e-4, 0.02), DefaultTrainConfig()).SaveCheckpoint(ck, nil); err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string]string{dir: "is a folder", ck: "is a training checkpoint"} {
		if _, _, err := Load(path, be); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Load(%s): %v, want one mentioning %q", path, err, want)
		}
	}
}

// Hostile configs are refused with the field, its value and its range, before
// anything is allocated (each of these once panicked or ran out of memory).
func TestConfigRanges(t *testing.T) {
	mults := make([]int, 100)
	for i := range mults {
		mults[i] = 1
	}
	for _, tc := range []struct {
		name string
		edit func(c *Config)
		want string
	}{
		{"100 levels", func(c *Config) { c.Mults = mults }, "number of channel_mults 100 is outside 1..6"},
		{"4096 channels", func(c *Config) { c.Channels = 4096 }, "channels 4096 is outside 1..256"},
		{"image 4096", func(c *Config) { c.ImageSize = 4096 }, "image_size 4096 is outside 1..256"},
		{"a million classes", func(c *Config) { c.NumClasses = 1e6 }, "num_classes 1000000 is outside 0..1000"},
		{"no levels", func(c *Config) { c.Mults = nil }, "number of channel_mults 0"},
		{"odd size", func(c *Config) { c.ImageSize = 30 }, "multiple of 4"},
		{"huge mult", func(c *Config) { c.Mults = []int{1, 64} }, "channel mult 64"},
		{"channels not in groups", func(c *Config) { c.Channels, c.Groups, c.Mults = 6, 4, []int{2, 4} }, "channels 6 must be a multiple of groups 4"},
	} {
		c := DefaultConfig()
		tc.edit(&c)
		err := c.Validate()
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want an error with %q", tc.name, err, tc.want)
		}
	}
	if err := DefaultConfig().Validate(); err != nil {
		t.Errorf("default config: %v", err)
	}
	// Within every range, but too big for the memory limit.
	big := Config{ImageSize: 256, InChannels: 4, Channels: 256, Mults: []int{1, 2, 4, 8}, NumResBlocks: 8, Groups: 8}
	if err := big.Validate(); err != nil {
		t.Fatal(err)
	}
	if err := big.CheckMemory(1, false, DefaultMemoryLimit); err == nil || !strings.Contains(err.Error(), "over the 1.1 GB limit") {
		t.Errorf("a %d-GB network passed the memory check: %v", big.MemoryEstimate(1, false)>>30, err)
	}
	if err := DefaultConfig().CheckMemory(1, false, DefaultMemoryLimit); err != nil {
		t.Errorf("the default network: %v", err)
	}
	for _, T := range []string{"1000000000", "0", "-3", "x"} {
		if _, err := ScheduleOf(map[string]string{MetaTimesteps: T}); err == nil {
			t.Errorf("timesteps %s accepted", T)
		}
	}
}
