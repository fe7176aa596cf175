// Command twin writes our network's noise prediction for a fixed input, so
// bench/torch_twin.py can check that its PyTorch network is the same one
// before it times both.
//
//	go run ./bench/twin -weights weights/mnist.safetensors -out eps.bin
//
// The input is image i of 4, pixel j: sin(0.7311·(i·P + j)) with P pixels
// per image, at timesteps 1, 250, 500, 999 (code indices) with labels 3, 7,
// the null label and 0. The output is the 4×P predictions as little-endian
// float32s.
package main

import (
	"encoding/binary"
	"flag"
	"fmt"
	"math"
	"os"

	"github.com/ddpm-go/ddpm/ddpm/nn"
	"github.com/ddpm-go/ddpm/ddpm/safetensors"
	"github.com/ddpm-go/ddpm/ddpm/unet"
)

func main() {
	weights := flag.String("weights", "weights/mnist.safetensors", "DDPM weights")
	out := flag.String("out", "", "file for the predictions")
	flag.Parse()
	if err := run(*weights, *out); err != nil {
		fmt.Fprintln(os.Stderr, "twin:", err)
		os.Exit(1)
	}
}

func run(weights, out string) error {
	if out == "" {
		return fmt.Errorf("-out is required")
	}
	m, _, err := unet.Load(weights, nn.CPU{})
	if err != nil {
		return err
	}
	const n = 4
	px := m.Config.Pixels()
	x := make([]float32, n*px)
	for i := range x {
		x[i] = float32(math.Sin(0.7311 * float64(i)))
	}
	ts := []int{1, 250, 500, 999}
	labels := []int{3, 7, m.Config.NullLabel(), 0}
	if m.Config.NumClasses == 0 {
		labels = nil
	}
	in := m.Backend.New(n, m.Config.InChannels, m.Config.ImageSize, m.Config.ImageSize)
	m.Backend.Upload(in, x)
	y, err := m.Forward(in, ts, labels)
	if err != nil {
		return err
	}
	eps := make([]float32, n*px)
	m.Backend.Download(eps, y)
	b := make([]byte, 4*len(eps))
	for i, v := range eps {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(v))
	}
	return safetensors.AtomicWrite(out, b)
}
