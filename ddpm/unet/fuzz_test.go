package unet

import (
	"bytes"
	"testing"

	"github.com/ddpm-go/ddpm/ddpm/nn"
	"github.com/ddpm-go/ddpm/ddpm/safetensors"
)

// FuzzFromFile drives the whole loading path, bytes → safetensors → config →
// model → schedule → one forward pass, with arbitrary files: it must return
// an error or a working model, never panic, and never build a network past
// the memory limit. Seeds: a tiny model's file, and the same file with each
// hostile config that once panicked or ran out of memory.
func FuzzFromFile(f *testing.F) {
	m, _ := New(tinyConfig(), nn.CPU{}, 1)
	encode := func(config, timesteps string) []byte {
		var b bytes.Buffer
		meta := map[string]string{MetaFormat: FormatVersion, MetaConfig: config, MetaTimesteps: timesteps}
		if err := safetensors.Encode(&b, meta, m.Tensors(m.Weights, safetensors.F16)); err != nil {
			f.Fatal(err)
		}
		return b.Bytes()
	}
	f.Add(encode(m.Config.String(), "1000"))
	// A network of 4×4 images with 2 channels: a file of a few hundred bytes,
	// quick to mutate and to minimise.
	micro := Config{ImageSize: 4, InChannels: 1, Channels: 2, Mults: []int{1}, NumResBlocks: 1, Groups: 1}
	if mm, err := New(micro, nn.CPU{}, 1); err == nil {
		var b bytes.Buffer
		meta := map[string]string{MetaFormat: FormatVersion, MetaConfig: micro.String(), MetaTimesteps: "10"}
		if err := safetensors.Encode(&b, meta, mm.Tensors(mm.Weights, safetensors.F16)); err != nil {
			f.Fatal(err)
		}
		f.Add(b.Bytes())
	}
	f.Add(encode(m.Config.String(), "1000000000"))
	for _, c := range []string{
		`{"image_size":8,"in_channels":1,"channels":4,"channel_mults":[1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1],"num_res_blocks":1,"attention":true,"groups":2,"num_classes":3}`,
		`{"image_size":8,"in_channels":1,"channels":4096,"channel_mults":[1,2],"num_res_blocks":1,"attention":true,"groups":2,"num_classes":3}`,
		`{"image_size":4096,"in_channels":1,"channels":4,"channel_mults":[1,2],"num_res_blocks":1,"attention":true,"groups":2,"num_classes":3}`,
		`{"image_size":8,"in_channels":1,"channels":4,"channel_mults":[1,2],"num_res_blocks":1,"attention":true,"groups":2,"num_classes":1000000}`,
		`{"image_size":256,"in_channels":4,"channels":256,"channel_mults":[1,2,4,8],"num_res_blocks":8,"attention":true,"groups":8,"num_classes":3}`,
	} {
		f.Add(encode(c, "1000"))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		file, err := safetensors.Decode(data)
		if err != nil {
			return
		}
		m, err := FromFile(file, nn.CPU{})
		if err != nil {
			return
		}
		if need := m.Config.MemoryEstimate(1, false); need > DefaultMemoryLimit {
			t.Fatalf("built a network estimated at %d bytes, over the limit", need)
		}
		s, err := ScheduleOf(file.Metadata)
		if err != nil {
			return
		}
		if m.Config.ImageSize > 32 || m.NumParams() > 1e6 {
			return // valid, but too slow for a fuzz iteration
		}
		x := make([]float32, m.Config.Pixels())
		eps := make([]float32, len(x))
		var labels []int
		if m.Config.NumClasses > 0 {
			labels = []int{m.Config.NullLabel()}
		}
		if err := m.PredictNoise(eps, x, 1, s.T()-1, labels); err != nil {
			t.Fatalf("forward pass of a loaded model: %v", err)
		}
	})
}
