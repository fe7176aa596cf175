// Command classifier trains the small MNIST classifier that cmd/eval uses to
// judge samples, with the project's own kernels, and writes it with its test
// accuracy to weights/classifier.safetensors.
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"github.com/ddpm-go/ddpm/ddpm/classifier"
	"github.com/ddpm-go/ddpm/ddpm/mnist"
	"github.com/ddpm-go/ddpm/ddpm/nn"
	"github.com/ddpm-go/ddpm/ddpm/safetensors"
	"github.com/ddpm-go/ddpm/internal/cli"
	"github.com/schollz/progressbar/v3"
)

func main() {
	fs := flag.NewFlagSet("classifier", flag.ContinueOnError)
	out := fs.String("out", filepath.Join("weights", "classifier.safetensors"), "where to write the classifier")
	epochs := fs.Int("epochs", 8, "passes over the training set")
	batch := fs.Int("batch", 128, "images per step")
	lr := fs.Float64("lr", 1e-3, "initial Adam learning rate (decays linearly to a tenth)")
	seed := fs.Uint64("seed", 1, "seed")
	data := fs.String("data", "", "folder with the MNIST IDX files (default: the GoMNIST module)")
	force := fs.Bool("force", false, "replace -out if it exists (such as the shipped weights/classifier.safetensors, which every evaluation's numbers depend on)")
	cli.Usage(fs, "go run ./cmd/classifier [flags]",
		"Trains the MNIST classifier that cmd/eval judges samples with.")
	cli.Parse(fs, os.Args[1:])
	cli.Exit("classifier", run(*out, *data, *epochs, *batch, *lr, *seed, *force))
}

func run(out, data string, epochs, batch int, lr float64, seed uint64, force bool) error {
	if epochs < 1 || batch < 1 || !(lr > 0 && lr <= 1) {
		return fmt.Errorf("-epochs, -batch and -lr must be positive")
	}
	if _, err := os.Stat(out); err == nil && !force {
		return fmt.Errorf("%s exists; pass -force to replace it, or choose another -out", out)
	}
	if err := safetensors.CheckWritable(out); err != nil { // now, not after the training
		return err
	}
	data, err := mnist.Dir(data)
	if err != nil {
		return err
	}
	train, err := mnist.Load(data, mnist.Train, classifier.Size)
	if err != nil {
		return err
	}
	test, err := mnist.Load(data, mnist.Test, classifier.Size)
	if err != nil {
		return err
	}
	m := classifier.New(nn.CPU{}, seed)
	bar := progressbar.NewOptions(epochs*(train.N/batch), progressbar.OptionSetWriter(os.Stderr),
		progressbar.OptionShowCount(), progressbar.OptionShowIts(), progressbar.OptionSetItsString("step"), progressbar.OptionFullWidth())
	smooth := 2.3
	m.Train(train, epochs, batch, lr, seed, func(epoch, _ int, loss float64) {
		smooth = 0.98*smooth + 0.02*loss
		bar.Describe(fmt.Sprintf("epoch %d loss %.4f", epoch+1, smooth))
		bar.Add(1)
	})
	bar.Finish()
	acc := m.Accuracy(test)
	fmt.Fprintf(os.Stderr, "\ntest accuracy %.4f (%d images)\n", acc, test.N)
	meta := map[string]string{classifier.MetaAccuracy: fmt.Sprintf("%.4f", acc), "epochs": fmt.Sprint(epochs), "batch": fmt.Sprint(batch)}
	if err := m.Save(out, meta); err != nil {
		return err
	}
	fmt.Fprintln(os.Stderr, "wrote", out)
	return nil
}
