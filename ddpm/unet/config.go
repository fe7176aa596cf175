// Package unet is the small U-Net that predicts the noise in an image: time
// embedding, GroupNorm, SiLU, residual blocks, strided-conv downsampling,
// nearest upsampling with skip concatenation, one self-attention block at the
// lowest resolution and an optional class embedding. Its forward and backward
// passes run on an nn.Backend.
package unet

import (
	"encoding/json"
	"fmt"
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
}

// DefaultConfig is the class-conditional MNIST network: C=16 at 32, 16 and 8
// pixels with 16, 32, 32 channels, attention at 8×8 (about 0.3 M parameters).
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

// Validate reports the first thing wrong with c.
func (c Config) Validate() error {
	switch {
	case c.Channels < 1 || c.InChannels < 1 || c.NumResBlocks < 1:
		return fmt.Errorf("unet: channels, in_channels and num_res_blocks must be ≥ 1 (got %d, %d, %d)", c.Channels, c.InChannels, c.NumResBlocks)
	case len(c.Mults) == 0:
		return fmt.Errorf("unet: channel_mults is empty")
	case c.Groups < 1:
		return fmt.Errorf("unet: groups must be ≥ 1, got %d", c.Groups)
	case c.NumClasses < 0:
		return fmt.Errorf("unet: num_classes must be ≥ 0, got %d", c.NumClasses)
	case c.ImageSize < 1 || c.ImageSize%(1<<(len(c.Mults)-1)) != 0:
		return fmt.Errorf("unet: image_size %d must be a positive multiple of %d for %d levels", c.ImageSize, 1<<(len(c.Mults)-1), len(c.Mults))
	case c.Channels > 4096 || c.ImageSize > 4096 || len(c.Mults) > 8 || c.NumResBlocks > 16:
		return fmt.Errorf("unet: config too large")
	}
	for _, m := range c.Mults {
		if m < 1 || m > 64 || (c.Channels*m)%c.Groups != 0 {
			return fmt.Errorf("unet: channel mult %d gives %d channels, not a positive multiple of %d groups", m, c.Channels*m, c.Groups)
		}
	}
	return nil
}

// String returns the config as JSON.
func (c Config) String() string {
	b, _ := json.Marshal(c)
	return string(b)
}
