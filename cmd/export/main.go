// Command export copies trained weights (a run's weights.safetensors) into
// weights/ as float32 (for the CLIs) and float16 (half the download, for the
// web page), validating them on the way.
//
//	go run ./cmd/export -in runs/mnist/weights.safetensors
//	go run ./cmd/export -in weights/run-small/weights.safetensors -name mnist-small
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"github.com/ddpm-go/ddpm/ddpm/nn"
	"github.com/ddpm-go/ddpm/ddpm/safetensors"
	"github.com/ddpm-go/ddpm/ddpm/unet"
)

func main() {
	in := flag.String("in", filepath.Join("runs", "mnist", "weights.safetensors"), "weights to export")
	out := flag.String("out", "weights", "folder to write NAME.safetensors and NAME-f16.safetensors into")
	name := flag.String("name", "mnist", "base name of the exported files")
	flag.Parse()
	if err := run(*in, *out, *name); err != nil {
		fmt.Fprintln(os.Stderr, "export:", err)
		os.Exit(1)
	}
}

func run(in, out, name string) error {
	m, meta, err := unet.Load(in, nn.CPU{})
	if err != nil {
		return err
	}
	delete(meta, unet.MetaFormat)
	delete(meta, unet.MetaConfig)
	for _, f := range []struct {
		name  string
		dtype safetensors.DType
	}{{name + ".safetensors", safetensors.F32}, {name + "-f16.safetensors", safetensors.F16}} {
		path := filepath.Join(out, f.name)
		if err := m.Save(path, m.Weights, f.dtype, meta); err != nil {
			return err
		}
		st, _ := os.Stat(path)
		fmt.Fprintf(os.Stderr, "wrote %s (%s, %d bytes, step %s)\n", path, f.dtype, st.Size(), meta[unet.MetaStep])
	}
	return nil
}
