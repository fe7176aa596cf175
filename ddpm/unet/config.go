// Package unet is the small U-Net that predicts the noise in an image: time
// embedding, GroupNorm, SiLU, residual blocks, strided-conv downsampling,
// nearest upsampling with skip concatenation, one self-attention block at the
// lowest resolution and an optional class embedding. Its forward and backward
// passes run on an nn.Backend.
package unet

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
)

// Config describes a network; it is stored in the weights file, so a weights
// file alone says what network it holds.
type Config struct {
	ImageSize    int   `json:"image_size"`     // input height and width (32 for MNIST)
	InChannels   int   `json:"in_channels"`    // 1 for MNIST
	Channels     int   `json:"channels"`       // C: channels at the top level
	Mults        []int `json:"channel_mults"`  // channels per level as multiples of C
	NumResBlocks int   `json:"num_res_blocks"` // residual blocks per level
	Attention    bool  `json:"attention"`      // a self-attention block at the lowest level
	Groups       int   `json:"groups"`         // GroupNorm groups
	NumClasses   int   `json:"num_classes"`    // 0: unconditional; else labels 0..NumClasses-1 and a null label NumClasses
	// EmbScale makes each residual block scale its second GroupNorm's output
	// by 1 + Linear(SiLU(emb)), per channel, on top of the embedding it adds
	// after the first convolution (the scale of AdaGN, Dhariwal & Nichol
	// 2021): the timestep and label then multiply features as well as shift
	// them. Its linear layers start at zero, so it starts as the plain block.
	EmbScale bool `json:"emb_scale,omitempty"`
}

// DefaultConfig is the class-conditional MNIST network: C=16 at 32, 16 and 8
// pixels with 16, 32, 32 channels, attention at 8×8 (185,009 parameters).
func DefaultConfig() Config {
	return Config{ImageSize: 32, InChannels: 1, Channels: 16, Mults: []int{1, 2, 2},
		NumResBlocks: 1, Attention: true, Groups: 8, NumClasses: 10}
}

// TimeDim is the width of the time embedding, 4·C.
func (c Config) TimeDim() int { return 4 * c.Channels }

// NullLabel is the label meaning "no class" for classifier-free guidance.
func (c Config) NullLabel() int { return c.NumClasses }

// Pixels is the number of values in one image.
func (c Config) Pixels() int { return c.InChannels * c.ImageSize * c.ImageSize }

// Ranges of a Config's fields: wide enough for any MNIST-sized experiment,
// small enough that a hostile weights file cannot make New allocate
// gigabytes before anything notices.
const (
	MaxImageSize  = 256  // image_size: 1..256, a multiple of 2^(levels−1)
	MaxInChannels = 4    // in_channels: 1..4
	MaxChannels   = 256  // channels: 1..256
	MaxLevels     = 6    // channel_mults: 1..6 levels
	MaxMult       = 16   // each channel mult: 1..16, C·mult a multiple of groups
	MaxResBlocks  = 8    // num_res_blocks: 1..8
	MaxClasses    = 1000 // num_classes: 0..1000
)

// DefaultMemoryLimit is what loading a weights file lets the model and one
// image need (MemoryEstimate with batch 1): 1 GiB.
const DefaultMemoryLimit = 1 << 30

// Validate reports the first thing wrong with c: a field outside its range
// (the constants above), named with its value and the range.
func (c Config) Validate() error {
	for _, f := range []struct {
		name      string
		v, lo, hi int
	}{
		{"image_size", c.ImageSize, 1, MaxImageSize},
		{"in_channels", c.InChannels, 1, MaxInChannels},
		{"channels", c.Channels, 1, MaxChannels},
		{"number of channel_mults", len(c.Mults), 1, MaxLevels},
		{"num_res_blocks", c.NumResBlocks, 1, MaxResBlocks},
		{"groups", c.Groups, 1, c.Channels},
		{"num_classes", c.NumClasses, 0, MaxClasses},
	} {
		if f.v < f.lo || f.v > f.hi {
			return fmt.Errorf("unet: %s %d is outside %d..%d", f.name, f.v, f.lo, f.hi)
		}
	}
	if c.Channels%c.Groups != 0 {
		return fmt.Errorf("unet: channels %d must be a multiple of groups %d", c.Channels, c.Groups)
	}
	if step := 1 << (len(c.Mults) - 1); c.ImageSize%step != 0 {
		return fmt.Errorf("unet: image_size %d must be a multiple of %d for %d levels", c.ImageSize, step, len(c.Mults))
	}
	for _, m := range c.Mults {
		if m < 1 || m > MaxMult || (c.Channels*m)%c.Groups != 0 {
			return fmt.Errorf("unet: channel mult %d must be in 1..%d and give a multiple of %d groups (got %d channels)", m, MaxMult, c.Groups, c.Channels*m)
		}
	}
	return nil
}

// MemoryEstimate returns about how many bytes training (train true) or
// running the network on batch images needs: parameters (with gradients,
// Adam's moments and the EMA when training) and the activations a forward
// and backward pass keep. It errs on the high side (the default network at
// batch 64: 0.50 GB against 0.47 GB measured), and needs c valid.
func (c Config) MemoryEstimate(batch int, train bool) int64 {
	maxMult := 0
	for _, m := range c.Mults {
		maxMult = max(maxMult, m)
	}
	ch, td, levels := int64(c.Channels*maxMult), int64(c.TimeDim()), int64(len(c.Mults))
	// Every level has 2 res blocks' worth of 3×3 convolutions per block going
	// down and up, plus a downsampling conv; the middle two more blocks.
	convs := levels*(4*int64(c.NumResBlocks)+1) + 4
	// Per block: embedding projections, and feature maps kept per channel.
	projs, perBlock := int64(1), int64(12)
	if c.EmbScale {
		projs, perBlock = 2, 14 // the scale's projection, its scaled map and that map's gradient
	}
	params := convs*9*ch*ch + 2*td*td + projs*convs*td*ch + int64(c.NumClasses+1)*td
	copies := int64(1)
	if train {
		copies = 5 // weights, gradients, two Adam moments, EMA
	}
	var act int64 // floats kept per image
	for l := range c.Mults {
		side := int64(c.ImageSize >> l)
		act += (2*int64(c.NumResBlocks) + 1) * perBlock * int64(c.Channels*c.Mults[l]) * side * side
	}
	side := int64(c.ImageSize >> (len(c.Mults) - 1))
	act += 3 * side * side * side * side // attention weights
	return 4 * (copies*params + 2*int64(batch)*act)
}

// CheckMemory returns an error when MemoryEstimate exceeds limit bytes.
func (c Config) CheckMemory(batch int, train bool, limit int64) error {
	if need := c.MemoryEstimate(batch, train); need > limit {
		return fmt.Errorf("unet: this network needs about %.1f GB for a batch of %d, over the %.1f GB limit (%s)", float64(need)/1e9, batch, float64(limit)/1e9, c)
	}
	return nil
}

// String returns the config as JSON.
func (c Config) String() string {
	b, _ := json.Marshal(c)
	return string(b)
}

// ParseMults reads channel mults written as on the command line: whole
// numbers ≥ 1 separated by commas, such as "1,2,2".
func ParseMults(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		v, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || v < 1 {
			return nil, fmt.Errorf("channel mults %q: want whole numbers ≥ 1 separated by commas, such as 1,2,2", s)
		}
		out = append(out, v)
	}
	return out, nil
}
