//go:build !(linux && (amd64 || arm64))

package cuda

import (
	"errors"

	"github.com/ddpm-go/ddpm/ddpm/nn"
)

// GPU is the CUDA backend; on this platform Open always fails.
type GPU struct{ nn.Backend }

// Open reports that this platform has no CUDA backend.
func Open(Options) (*GPU, error) {
	return nil, errors.New("cuda: the CUDA backend needs Linux on amd64 or arm64")
}

// Info describes the device.
func (g *GPU) Info() Info { return Info{} }

// Close does nothing.
func (g *GPU) Close() {}
