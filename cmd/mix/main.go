// Command mix writes a network whose every weight is (1−w)·A's + w·B's
// (unet.Mix): a weight-space average of a fine-tune and the network it
// started from, which can trade their qualities more cheaply than training.
//
//	go run ./cmd/mix -a weights/ablation/mnist-null-30000.safetensors -b weights/mnist.safetensors -w 0.5 -out runs/mix-0.5.safetensors
//	go run ./cmd/eval -weights runs/mix-0.5.safetensors
package main

import (
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"

	"github.com/ddpm-go/ddpm/ddpm/nn"
	"github.com/ddpm-go/ddpm/ddpm/safetensors"
	"github.com/ddpm-go/ddpm/ddpm/unet"
	"github.com/ddpm-go/ddpm/internal/cli"
)

type options struct {
	a, b, out string
	w         float64
	force     bool
}

func main() {
	o := &options{}
	flags := flag.NewFlagSet("mix", flag.ContinueOnError)
	flags.StringVar(&o.a, "a", "", "the first network's weights (required)")
	flags.StringVar(&o.b, "b", "", "the second network's weights, of the same config (required)")
	flags.Float64Var(&o.w, "w", 0.5, "B's share, from 0 (A) to 1 (B)")
	flags.StringVar(&o.out, "out", "", "where to write the mixed weights (required)")
	flags.BoolVar(&o.force, "force", false, "replace -out if it exists")
	cli.Usage(flags, "go run ./cmd/mix -a FILE -b FILE [-w 0.5] -out FILE",
		"Writes a network whose every weight is (1-w)·A's + w·B's. Mix a fine-tune with the network it started from: two networks trained apart do not average.")
	cli.Parse(flags, os.Args[1:])
	cli.Exit("mix", run(o))
}

func run(o *options) error {
	if o.a == "" || o.b == "" || o.out == "" {
		return errors.New("-a, -b and -out are required")
	}
	if o.w < 0 || o.w > 1 || o.w != o.w {
		return fmt.Errorf("-w %v: want B's share, from 0 to 1", o.w)
	}
	if err := cli.CheckOut(o.out, o.force, "mix.safetensors"); err != nil {
		return err
	}
	load := func(flag, path string) (*unet.Model, map[string]string, error) {
		m, meta, err := unet.Load(path, nn.CPU{})
		if errors.Is(err, fs.ErrNotExist) {
			return nil, nil, fmt.Errorf("no weights at %s (pass %s)", path, flag)
		}
		return m, meta, err
	}
	a, metaA, err := load("-a", o.a)
	if err != nil {
		return err
	}
	b, metaB, err := load("-b", o.b)
	if err != nil {
		return err
	}
	m, err := unet.Mix(a, b, o.w)
	if err != nil {
		return err
	}
	// The mix was never trained as such: no step or training time of its
	// own; mixed_from says what it is.
	meta := map[string]string{}
	for _, k := range []string{"schedule", "timesteps", "dataset", "weights"} {
		if v, ok := metaA[k]; ok {
			meta[k] = v
		}
	}
	meta["mixed_from"] = fmt.Sprintf("%s (step %s) ×%s + %s (step %s) ×%s",
		o.a, metaA[unet.MetaStep], strconv.FormatFloat(1-o.w, 'g', -1, 64),
		o.b, metaB[unet.MetaStep], strconv.FormatFloat(o.w, 'g', -1, 64))
	if err := os.MkdirAll(filepath.Dir(o.out), 0o755); err != nil {
		return err
	}
	if err := m.Save(o.out, m.Weights, safetensors.F32, meta); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "wrote %s: %s\n", o.out, meta["mixed_from"])
	return nil
}
