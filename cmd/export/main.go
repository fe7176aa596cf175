// Command export copies trained weights (a run's weights.safetensors) into a
// folder as float32 (for the CLIs) and float16 (half the download, for the
// web page), validating them on the way. It never replaces existing files
// unless asked to with -force: the shipped weights live in weights/.
//
//	go run ./cmd/export -in runs/mnist/weights.safetensors -out runs/export
//	go run ./cmd/export -in runs/mnist/weights.safetensors -force     # replace weights/mnist*.safetensors
//	go run ./cmd/export -in runs/small/weights.safetensors -name mnist-small -force
//
// A checkpoint folder holds weights.safetensors only once a run (or a
// -resume of it) has written it; weights/run's is git-ignored.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/ddpm-go/ddpm/ddpm/nn"
	"github.com/ddpm-go/ddpm/ddpm/safetensors"
	"github.com/ddpm-go/ddpm/ddpm/unet"
	"github.com/ddpm-go/ddpm/internal/cli"
)

type options struct {
	in, out, name string
	force         bool
}

func main() {
	o := &options{}
	fs := flag.NewFlagSet("export", flag.ContinueOnError)
	fs.StringVar(&o.in, "in", filepath.Join("runs", "mnist", "weights.safetensors"), "weights to export (a run folder's weights.safetensors)")
	fs.StringVar(&o.out, "out", "weights", "folder to write NAME.safetensors and NAME-f16.safetensors into (created if missing)")
	fs.StringVar(&o.name, "name", "mnist", "base name of the exported files")
	fs.BoolVar(&o.force, "force", false, "replace files that already exist (such as the shipped weights/mnist*.safetensors)")
	cli.Usage(fs, "go run ./cmd/export [flags]",
		"Writes a run's weights as NAME.safetensors (float32) and NAME-f16.safetensors (float16, for the web page) into -out.")
	cli.Parse(fs, os.Args[1:])
	cli.Exit("export", run(o))
}

func run(o *options) error {
	m, meta, err := unet.Load(o.in, nn.CPU{})
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("no weights at %s (a training run writes them to its -out folder; pass -in)", o.in)
	}
	if err != nil {
		return err
	}
	files := []struct {
		path  string
		dtype safetensors.DType
	}{{filepath.Join(o.out, o.name+".safetensors"), safetensors.F32}, {filepath.Join(o.out, o.name+"-f16.safetensors"), safetensors.F16}}
	if !o.force {
		for _, f := range files {
			if _, err := os.Stat(f.path); err == nil {
				return fmt.Errorf("%s exists; pass -force to replace it, or choose another -out or -name", f.path)
			}
		}
	}
	if err := os.MkdirAll(o.out, 0o755); err != nil {
		return err
	}
	delete(meta, unet.MetaFormat)
	delete(meta, unet.MetaConfig)
	for _, f := range files {
		if err := m.Save(f.path, m.Weights, f.dtype, meta); err != nil {
			return err
		}
		st, _ := os.Stat(f.path)
		fmt.Fprintf(os.Stderr, "wrote %s (%s, %d bytes%s)\n", f.path, f.dtype, st.Size(), provenance(meta))
	}
	return nil
}

// provenance says where the weights come from: their training step, or the
// networks they were mixed from (cmd/mix).
func provenance(meta map[string]string) string {
	switch {
	case meta[unet.MetaStep] != "":
		return ", step " + meta[unet.MetaStep]
	case meta["mixed_from"] != "":
		return ", mixed from " + meta["mixed_from"]
	}
	return ""
}
