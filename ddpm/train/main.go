// Command train trains the DDPM U-Net on MNIST.
//
//	go run ./ddpm/train                      # the default model, into runs/mnist
//	go run ./ddpm/train -resume              # continue the run in runs/mnist
//	go run ./ddpm/train -epochs 1 -channels 8 -groups 2 -out runs/small
//
// It writes into -out: checkpoint.safetensors (everything needed to resume),
// weights.safetensors (the EMA weights, which cmd/export turns into the
// files cmd/sample and the web page load), samples/step-NNNNNN.png, loss.png
// and log.jsonl. Ctrl-C writes a final checkpoint and exits; a second Ctrl-C
// exits at once.
package main

import (
	"flag"
	"fmt"
	"math"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"github.com/ddpm-go/ddpm/ddpm"
	"github.com/ddpm-go/ddpm/ddpm/unet"
	"github.com/ddpm-go/ddpm/internal/cli"
)

func main() {
	o, err := parseFlags(os.Args[1:])
	cli.ExitFlags("train", err)
	// The first Ctrl-C asks for a checkpoint at the next step; a second one
	// (say during the final sample grid) exits at once. Files are written
	// atomically, so that loses nothing already saved.
	sig := make(chan os.Signal, 2)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	stop := make(chan os.Signal, 1)
	go func() {
		stop <- <-sig
		fmt.Fprintln(os.Stderr, "\ntrain: interrupted: writing a checkpoint after this step (Ctrl-C again to exit at once)")
		<-sig
		// Files are renamed into place whole, so what is on disk is intact.
		ckpt := runPaths{dir: o.out}.checkpoint()
		if _, err := os.Stat(ckpt); err == nil {
			fmt.Fprintf(os.Stderr, "\ntrain: interrupted twice: exiting now; the last checkpoint written, %s, is intact\n", ckpt)
		} else {
			fmt.Fprintln(os.Stderr, "\ntrain: interrupted twice: exiting now; no checkpoint was written yet")
		}
		os.Exit(130)
	}()
	cli.Exit("train", run(o, stop))
}

type options struct {
	steps, epochs, batch, channels   int
	groups                           int
	mults                            []int // channel mults per level
	embScale, nullDistill            bool
	lr, ema, pUncond, maxMemoryGB    float64
	minSNR, x0Floor, inputPerturb    float64
	rollout                          float64
	rolloutStride                    int
	warmup, decayFrom                int
	cond, resume, tf32, totalSet     bool
	schedule, backend, out, data     string
	init                             string // weights to start a new run from
	seed                             uint64
	set                              map[string]bool // the flags given on the command line
	sampleEvery, checkpointEvery     int
	evalEvery, testImages, timeSteps int
}

func parseFlags(args []string) (*options, error) {
	o := &options{}
	fs := flag.NewFlagSet("train", flag.ContinueOnError)
	fs.IntVar(&o.steps, "steps", 0, "optimiser steps to train in all (0: use -epochs)")
	fs.IntVar(&o.epochs, "epochs", 20, "passes over the 60,000 training images (the tutorial's 20)")
	fs.IntVar(&o.batch, "batch", 64, "images per step")
	fs.Float64Var(&o.lr, "lr", 2e-4, "Adam learning rate")
	fs.IntVar(&o.warmup, "warmup", 0, "raise the learning rate linearly from 0 over the first N steps")
	fs.IntVar(&o.decayFrom, "decay-from", -1, "from this step on, lower the learning rate along a cosine to 0 at the last step (-1: constant)")
	fs.Float64Var(&o.minSNR, "min-snr", 0, "weight each image's loss by min(SNR, γ)/SNR, min-SNR-γ (5 is the paper's; 0: the plain mean)")
	fs.Float64Var(&o.x0Floor, "x0-floor", 0, "keep each image's loss weight in x̂₀ terms at least κ: max(min(SNR, γ), κ)/SNR, γ from -min-snr (none: ∞); 0: no floor")
	fs.Float64Var(&o.rollout, "rollout", 0, "train each labelled image with this probability on one DDIM step of the EMA network from -rollout-stride timesteps higher, towards the noise that leads back to the image (scheduled sampling against the sampler's drift); 0: none")
	fs.IntVar(&o.rolloutStride, "rollout-stride", 100, "with -rollout, the step's length in timesteps (100: the stride of the page's 10-step sampler)")
	fs.Float64Var(&o.inputPerturb, "input-perturb", 0, "make each noisy input with ε + γ·ξ while the target stays ε (input perturbation, Ning et al. 2023; they use γ = 0.1); 0: none")
	fs.BoolVar(&o.nullDistill, "null-distill", false, "train the null label towards the EMA network's prediction under each image's true label instead of the noise (same mean, less variance); -resume takes it from the checkpoint unless given")
	fs.IntVar(&o.channels, "channels", 16, "U-Net width C (level i has C·mults[i] channels)")
	mults := fs.String("mults", "1,2,2", "channel mults per level, top (32×32) first: C, 2C, 2C channels by default")
	fs.IntVar(&o.groups, "groups", 8, "GroupNorm groups; C must be a multiple (keep ≥ 2 channels per group: one per group erases each channel's mean)")
	fs.BoolVar(&o.embScale, "emb-scale", false, "residual blocks also scale their features by 1 + Linear(SiLU(time and label embedding)) (AdaGN's scale); -resume takes it from the checkpoint")
	fs.BoolVar(&o.cond, "cond", true, "class-conditional with a null label (classifier-free guidance)")
	fs.Float64Var(&o.pUncond, "p-uncond", 0.1, "probability of training on the null label (with -cond)")
	fs.StringVar(&o.schedule, "schedule", "linear", "noise schedule: linear or cosine")
	fs.IntVar(&o.timeSteps, "T", 1000, "diffusion steps")
	fs.Float64Var(&o.ema, "ema", 0.999, "decay of the weight average used for samples (0: none)")
	fs.Uint64Var(&o.seed, "seed", 1, "seed for initial weights, data order and noise")
	fs.StringVar(&o.out, "out", filepath.Join("runs", "mnist"), "run folder for checkpoints, weights, samples and logs")
	fs.BoolVar(&o.resume, "resume", false, "continue from the checkpoint in -out")
	fs.StringVar(&o.init, "init", "", "start a new run from this weights file (fine-tuning: fresh optimiser state, the file's network and schedule; -batch may differ from the file's run)")
	fs.StringVar(&o.backend, "backend", "auto", "auto: the GPU when one can be opened, else the CPU; cuda: the GPU or fail; cpu: our CPU kernels; gorgonia: the same network on gorgonia's TapeMachine (slow)")
	fs.BoolVar(&o.tf32, "tf32", false, "with the GPU, let cuBLAS use TF32 tensor cores (faster, about 1e-3 relative error in the GEMMs)")
	fs.StringVar(&o.data, "data", "", "folder with the MNIST IDX files (default: the GoMNIST module in the Go module cache)")
	fs.IntVar(&o.sampleEvery, "sample-every", 1000, "steps between sample grids (0: only at the end)")
	fs.IntVar(&o.checkpointEvery, "checkpoint-every", 500, "steps between checkpoints")
	fs.IntVar(&o.evalEvery, "eval-every", 0, "steps between test-loss evaluations (0: once per epoch)")
	fs.IntVar(&o.testImages, "test-images", 2000, "MNIST test images in the test loss")
	fs.Float64Var(&o.maxMemoryGB, "max-memory", 4, "refuse to start a network and batch estimated to need more than this many GB")
	cli.Usage(fs, "go run ./ddpm/train [flags]",
		"Trains the DDPM U-Net on MNIST and writes checkpoints, EMA weights, sample grids and a loss plot into -out.")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if err := cli.NoArgs(fs); err != nil {
		return nil, err
	}
	var err error
	if o.mults, err = unet.ParseMults(*mults); err != nil {
		return nil, fmt.Errorf("-mults: %v", err)
	}
	o.set = map[string]bool{}
	fs.Visit(func(f *flag.Flag) { o.set[f.Name] = true })
	o.totalSet = o.set["steps"] || o.set["epochs"]
	finite := func(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }
	switch {
	case o.batch < 1:
		return nil, fmt.Errorf("-batch must be ≥ 1")
	case o.steps < 0 || o.epochs < 0 || (o.steps == 0 && o.epochs == 0):
		return nil, fmt.Errorf("-steps or -epochs must be positive")
	case !(o.lr > 0) || !finite(o.lr) || o.lr > 1:
		return nil, fmt.Errorf("-lr %v: want a learning rate in (0, 1]", o.lr)
	case o.timeSteps < 1 || o.timeSteps > ddpm.MaxT:
		return nil, fmt.Errorf("-T %d is outside 1..%d", o.timeSteps, ddpm.MaxT)
	case o.batch > 4096:
		return nil, fmt.Errorf("-batch %d is over 4096", o.batch)
	case !(o.maxMemoryGB > 0 && o.maxMemoryGB <= 1e6):
		return nil, fmt.Errorf("-max-memory must be a number of GB in (0, 1e6]")
	case !(o.ema >= 0 && o.ema < 1):
		return nil, fmt.Errorf("-ema %v: want a decay in [0, 1)", o.ema)
	case o.warmup < 0:
		return nil, fmt.Errorf("-warmup %d: want a number of steps ≥ 0", o.warmup)
	case o.decayFrom < -1:
		return nil, fmt.Errorf("-decay-from %d: want a step ≥ 0, or -1 for no decay", o.decayFrom)
	case !(o.minSNR >= 0) || !finite(o.minSNR):
		return nil, fmt.Errorf("-min-snr %v: want γ ≥ 0 (0: no weighting)", o.minSNR)
	case !(o.x0Floor >= 0) || !finite(o.x0Floor):
		return nil, fmt.Errorf("-x0-floor %v: want κ ≥ 0 (0: no floor)", o.x0Floor)
	case !(o.inputPerturb >= 0) || !finite(o.inputPerturb):
		return nil, fmt.Errorf("-input-perturb %v: want γ ≥ 0 (0: none)", o.inputPerturb)
	case !(o.rollout >= 0 && o.rollout <= 1):
		return nil, fmt.Errorf("-rollout %v: want a probability in [0, 1]", o.rollout)
	case o.rollout > 0 && !o.cond:
		return nil, fmt.Errorf("-rollout trains the labelled images of a class-conditional model: drop -cond=false or -rollout")
	case o.rollout > 0 && (o.rolloutStride < 1 || o.rolloutStride >= o.timeSteps):
		return nil, fmt.Errorf("-rollout-stride %d is outside 1..%d (T−1)", o.rolloutStride, o.timeSteps-1)
	case o.nullDistill && !o.cond:
		return nil, fmt.Errorf("-null-distill trains the null label of a class-conditional model: drop -cond=false or -null-distill")
	case o.nullDistill && o.pUncond == 0:
		return nil, fmt.Errorf("-null-distill trains the images whose label is dropped: it needs -p-uncond > 0")
	case !(o.pUncond >= 0 && o.pUncond <= 1):
		return nil, fmt.Errorf("-p-uncond %v: want a probability in [0, 1]", o.pUncond)
	case o.groups < 1 || o.channels < 1 || o.channels%o.groups != 0:
		return nil, fmt.Errorf("-channels must be a positive multiple of -groups (%d)", o.groups)
	case o.init != "" && o.resume:
		return nil, fmt.Errorf("-init starts a new run from weights; -resume continues the run in -out: pass one of them")
	case o.checkpointEvery < 1 || o.testImages < 1:
		return nil, fmt.Errorf("-checkpoint-every and -test-images must be positive")
	case o.sampleEvery < 0 || o.evalEvery < 0:
		return nil, fmt.Errorf("-sample-every and -eval-every must be ≥ 0 (-sample-every 0: only at the end; -eval-every 0: once per epoch)")
	}
	if !o.resume && o.steps > 0 && o.decayFrom >= o.steps { // run() checks the other cases, once it knows the length
		return nil, fmt.Errorf("-decay-from %d is not before the last step %d: raise -steps, or pass -decay-from -1", o.decayFrom, o.steps)
	}
	if _, err := ddpm.NewSchedule(o.schedule, o.timeSteps); err != nil {
		return nil, fmt.Errorf("-schedule: %v", err)
	}
	switch o.backend {
	case "auto", "cpu", "cuda", "gorgonia":
	default:
		return nil, fmt.Errorf("unknown -backend %q (want auto, cuda, cpu or gorgonia)", o.backend)
	}
	return o, nil
}
