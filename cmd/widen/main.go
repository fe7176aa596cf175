// Command widen writes a copy of a weights file with more channels at some
// levels (unet.Widen), or with the embedding scale added to its residual
// blocks (unet.AddEmbScale, -emb-scale): the grown network starts from what
// the old one learned instead of from noise. Train it on with
// `go run ./ddpm/train -init`.
//
//	go run ./cmd/widen -in weights/mnist.safetensors -mults 1,2,4 -out runs/wide-init.safetensors
//	go run ./cmd/widen -emb-scale -out runs/scale-init.safetensors
//	go run ./ddpm/train -init runs/wide-init.safetensors -out runs/wide
package main

import (
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"

	"github.com/ddpm-go/ddpm/ddpm/nn"
	"github.com/ddpm-go/ddpm/ddpm/safetensors"
	"github.com/ddpm-go/ddpm/ddpm/unet"
	"github.com/ddpm-go/ddpm/internal/cli"
)

type options struct {
	in, out, mults string
	seed           uint64
	force          bool
	embScale       bool
}

func main() {
	o := &options{}
	flags := flag.NewFlagSet("widen", flag.ContinueOnError)
	flags.StringVar(&o.in, "in", "weights/mnist.safetensors", "weights to widen")
	flags.StringVar(&o.out, "out", "", "where to write the wider network's weights (required)")
	flags.StringVar(&o.mults, "mults", "", "the new channel mults, each a whole multiple of the old, e.g. 1,2,4")
	flags.BoolVar(&o.embScale, "emb-scale", false, "add the embedding scale to every residual block (at zero: the same function)")
	flags.Uint64Var(&o.seed, "seed", 1, "seed of the random shares that split each weight among a channel's copies")
	flags.BoolVar(&o.force, "force", false, "replace -out if it exists")
	cli.Usage(flags, "go run ./cmd/widen (-mults M,M,M | -emb-scale) -out FILE [flags]",
		"Writes a copy of a network with more channels at some levels or with the embedding scale added, computing (nearly) the same function, to train on with `go run ./ddpm/train -init FILE`.")
	cli.Parse(flags, os.Args[1:])
	cli.Exit("widen", run(o))
}

func run(o *options) error {
	if o.mults == "" && !o.embScale {
		return errors.New("nothing to grow: pass -mults (e.g. -mults 1,2,4), -emb-scale, or both")
	}
	var mults []int
	if o.mults != "" {
		var err error
		if mults, err = unet.ParseMults(o.mults); err != nil {
			return fmt.Errorf("-mults: %v", err)
		}
	}
	if o.out == "" {
		return errors.New("-out is required: where to write the wider weights")
	}
	if err := cli.CheckOut(o.out, o.force, "wide-init.safetensors"); err != nil {
		return err
	}
	m, meta, err := unet.Load(o.in, nn.CPU{})
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("no weights at %s (pass -in)", o.in)
	}
	if err != nil {
		return err
	}
	if mults != nil && slices.Equal(mults, m.Config.Mults) {
		return fmt.Errorf("-mults %s are the network's own: nothing to widen", o.mults)
	}
	if o.embScale && m.Config.EmbScale {
		return fmt.Errorf("%s already has the embedding scale: drop -emb-scale", o.in)
	}
	w := m
	if o.embScale {
		if w, err = unet.AddEmbScale(w); err != nil {
			return err
		}
	}
	if mults != nil {
		cfg := w.Config
		cfg.Mults = mults
		if w, err = unet.Widen(w, cfg, o.seed); err != nil {
			return err
		}
	}
	// The wide network never trained at this shape: the step moves into
	// widened_from, so a run started from it does not claim it, and the
	// training time goes.
	meta["widened_from"] = fmt.Sprintf("%s (%s, step %s)", o.in, m.Config, meta[unet.MetaStep])
	delete(meta, unet.MetaStep)
	delete(meta, "elapsed_s")
	if err := os.MkdirAll(filepath.Dir(o.out), 0o755); err != nil {
		return err
	}
	if err := w.Save(o.out, w.Weights, safetensors.F32, meta); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "wrote %s: %s → %s, %d → %d parameters\n", o.out, m.Config, w.Config, m.NumParams(), w.NumParams())
	return nil
}
