package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"time"

	"github.com/ddpm-go/ddpm/ddpm"
	"github.com/ddpm-go/ddpm/ddpm/mnist"
	"github.com/ddpm-go/ddpm/ddpm/nn"
	"github.com/ddpm-go/ddpm/ddpm/nn/cuda"
	"github.com/ddpm-go/ddpm/ddpm/picture"
	"github.com/ddpm-go/ddpm/ddpm/safetensors"
	"github.com/ddpm-go/ddpm/ddpm/training"
	"github.com/ddpm-go/ddpm/ddpm/unet"
)

// logEntry is one line of log.jsonl.
type logEntry struct {
	Step      int      `json:"step"`
	Epoch     float64  `json:"epoch"`
	TrainLoss float64  `json:"train_loss"`
	LR        float64  `json:"lr"` // the learning rate of this step
	TestLoss  *float64 `json:"test_loss,omitempty"`
	ElapsedS  float64  `json:"elapsed_s"` // training time of the whole run so far, across resumes
	Time      string   `json:"time"`
}

const logEvery = 50 // steps per train-loss line in log.jsonl

func run(o *options, stop <-chan os.Signal) (err error) {
	// A device failure (out of GPU memory, a lost GPU) arrives as a panic
	// from the backend; report it in one line. Checkpoints on disk are whole.
	defer func() {
		if r := recover(); r != nil {
			de, ok := r.(*nn.DeviceError)
			if !ok {
				panic(r)
			}
			err = fmt.Errorf("%v; the last checkpoint in %s is intact (continue with -resume)", de, o.out)
		}
	}()
	dir, err := mnist.Dir(o.data)
	if err != nil {
		return err
	}
	trainSet, err := mnist.Load(dir, mnist.Train, 32)
	if err != nil {
		return err
	}
	testSet, err := mnist.Load(dir, mnist.Test, 32)
	if err != nil {
		return err
	}
	if o.init != "" { // before the backend's probe prints anything
		if _, err := os.Stat(o.init); err != nil {
			return fmt.Errorf("-init: no weights file at %s", o.init)
		}
	}
	be, backendName, err := openBackend(o, os.Stderr)
	if err != nil {
		return err
	}
	if g, ok := be.(*cuda.GPU); ok {
		defer g.Close()
	}
	paths := runPaths{dir: o.out}
	tr, meta, err := setup(o, paths, be)
	if err != nil {
		return err
	}
	paths.removeStaleTemps()
	haveCheckpoint := o.resume
	initFrom := meta[metaInit] // the weights a fine-tuning run started from
	elapsed, _ := strconv.ParseFloat(meta["elapsed_s"], 64)
	var engine training.Engine
	if o.backend == "gorgonia" {
		if tr.Config.Warmup > 0 || o.decayFrom >= 0 || tr.Config.Weighted() || tr.Config.InputPerturb > 0 || tr.Config.NullDistill || tr.Config.Rollout > 0 {
			return fmt.Errorf("-backend gorgonia trains with a constant learning rate and the plain loss: use -warmup 0 -decay-from -1 -min-snr 0 -x0-floor 0 -input-perturb 0 -null-distill=false -rollout 0 (a resumed run's checkpoint may set them)")
		}
		e, err := training.NewGorgoniaEngine(tr, o.batch)
		if err != nil {
			return err
		}
		engine = e
	}
	r, err := training.New(tr, engine, trainSet, testSet, o.batch, o.seed)
	if err != nil {
		return err
	}
	total := o.steps
	if total == 0 {
		total = o.epochs * r.StepsPerEpoch()
	}
	if o.resume && !o.totalSet {
		// A resumed run keeps the length it was started with.
		if n, err := strconv.Atoi(meta[metaTotal]); err == nil && n > 0 {
			total = n
		}
	}
	evalEvery := o.evalEvery
	if evalEvery == 0 {
		evalEvery = r.StepsPerEpoch()
	}
	fmt.Fprintf(os.Stderr, "model: %s, %d parameters; %d images, batch %d, %d steps per epoch\n",
		tr.Model.Config, tr.Model.NumParams(), trainSet.N, o.batch, r.StepsPerEpoch())
	if tr.Step >= total {
		fmt.Fprintf(os.Stderr, "already at step %d of %d: nothing to do (raise -steps or -epochs to train further)\n", tr.Step, total)
		return nil
	}
	if o.decayFrom >= 0 {
		if o.decayFrom >= total {
			return fmt.Errorf("the learning rate's decay starts at step %d (-decay-from, or the checkpoint's), not before the last step %d: raise -steps, or pass -decay-from -1", o.decayFrom, total)
		}
		tr.Config.DecayFrom, tr.Config.DecayTo = o.decayFrom, total
	}
	// Every refusal above comes before the run folder is made.
	if err := os.MkdirAll(filepath.Join(o.out, "samples"), 0o755); err != nil {
		return fmt.Errorf("cannot create the run folder: %v", err)
	}
	fmt.Fprintf(os.Stderr, "recipe: %s\n", recipe(tr.Config, tr.Step+1))
	if initFrom != "" && tr.Step == 0 {
		fmt.Fprintf(os.Stderr, "starting from the weights in %s (fresh optimiser state)\n", initFrom)
	}
	if tr.Step > 0 {
		fmt.Fprintf(os.Stderr, "resuming at step %d of %d\n", tr.Step, total)
	}
	if o.resume {
		// A kill after the last checkpoint leaves log lines and weights of
		// later steps: drop the lines, and write the checkpoint's weights.
		if err := truncateLog(paths.log(), tr.Step); err != nil {
			return err
		}
	}

	flags := os.O_CREATE | os.O_APPEND | os.O_WRONLY
	if !o.resume {
		flags |= os.O_TRUNC // the lines of a run that never wrote a checkpoint
	}
	logf, err := os.OpenFile(paths.log(), flags, 0o644)
	if err != nil {
		return err
	}
	defer logf.Close()
	writeLog := func(e logEntry) error {
		b, _ := json.Marshal(e)
		_, err := logf.Write(append(b, '\n'))
		return err
	}

	bar := newProgress(os.Stderr, tr.Step, total)
	say := bar.say

	start := time.Now()
	lastCheckpoint := tr.Step
	elapsedNow := func() float64 { return elapsed + time.Since(start).Seconds() }
	saveWeights := func() error {
		wmeta := map[string]string{unet.MetaStep: strconv.Itoa(tr.Step), unet.MetaSchedule: tr.Schedule.Kind,
			unet.MetaTimesteps: strconv.Itoa(tr.Schedule.T()), "dataset": "mnist", "weights": "ema",
			"elapsed_s": fmt.Sprintf("%.0f", elapsedNow())}
		if initFrom != "" { // the file's step and time count from its -init weights: say which
			wmeta[metaInit] = initFrom
		}
		if err := tr.Model.Save(paths.weights(), tr.EMA, safetensors.F32, wmeta); err != nil {
			return fmt.Errorf("writing the weights: %v", err)
		}
		return nil
	}
	save := func() error {
		if err := r.Engine.Sync(); err != nil {
			return err
		}
		meta := map[string]string{"seed": strconv.FormatUint(o.seed, 10), "batch": strconv.Itoa(o.batch),
			"elapsed_s": fmt.Sprintf("%.0f", elapsedNow()), "backend": backendName, metaTotal: strconv.Itoa(total)}
		if initFrom != "" {
			meta[metaInit] = initFrom
		}
		if err := tr.SaveCheckpoint(paths.checkpoint(), meta); err != nil {
			return fmt.Errorf("writing the checkpoint (the previous one is intact): %v", err)
		}
		lastCheckpoint, haveCheckpoint = tr.Step, true
		if err := saveWeights(); err != nil {
			return err
		}
		return plotLoss(paths.log(), paths.lossPlot())
	}
	if o.resume {
		if err := saveWeights(); err != nil {
			return err
		}
	}
	kept := func() string {
		if !haveCheckpoint {
			return "no checkpoint was written yet"
		}
		return fmt.Sprintf("the last good checkpoint (step %d) is kept in %s", lastCheckpoint, paths.checkpoint())
	}
	grid := func() error {
		m, err := r.EMAModel()
		if err != nil {
			return err
		}
		path := filepath.Join(o.out, "samples", fmt.Sprintf("step-%06d.png", tr.Step))
		if err := sampleGrid(m, tr.Schedule, path); err != nil {
			return err
		}
		say("step %d: samples in %s", tr.Step, path)
		return nil
	}

	var windowSum float64
	var windowN int
	for tr.Step < total {
		select {
		case <-stop:
			say("interrupted at step %d: writing a checkpoint", tr.Step)
			if err := save(); err != nil {
				return err
			}
			say("checkpoint written to %s; continue with -resume", paths.checkpoint())
			return nil
		default:
		}
		loss, err := r.Step()
		if err != nil {
			return fmt.Errorf("%v; stopped: %s", err, kept())
		}
		windowSum += loss
		windowN++
		// The loss shown is the mean since the last log line: what log.jsonl records.
		bar.update(tr.Step, r.Epoch()+1, windowSum/float64(windowN))
		step := tr.Step
		entry := logEntry{Step: step, Epoch: float64(step) / float64(r.StepsPerEpoch()), LR: tr.Config.LRAt(step), ElapsedS: elapsedNow(), Time: time.Now().UTC().Format(time.RFC3339)}
		if step%evalEvery == 0 || step == total {
			tl, err := r.TestLoss(o.testImages)
			if err != nil {
				return err
			}
			entry.TestLoss = &tl
			say("step %d (epoch %.3f): train loss %.4f, test loss %.4f", step, entry.Epoch, windowSum/float64(windowN), tl)
		}
		if step%logEvery == 0 || entry.TestLoss != nil {
			entry.TrainLoss = windowSum / float64(windowN)
			windowSum, windowN = 0, 0
			if err := writeLog(entry); err != nil {
				return err
			}
		}
		if o.sampleEvery > 0 && step%o.sampleEvery == 0 {
			if err := grid(); err != nil {
				return err
			}
		}
		if step%o.checkpointEvery == 0 {
			if err := save(); err != nil {
				return err
			}
		}
	}
	if err := save(); err != nil {
		return err
	}
	if o.sampleEvery == 0 || tr.Step%o.sampleEvery != 0 {
		say("sampling the final grid of 64 digits from the EMA weights")
		if err := grid(); err != nil {
			return err
		}
	}
	if _, err := os.Stat(paths.lossPlot()); err == nil {
		say("done: %d steps; weights in %s, loss plot in %s", tr.Step, paths.weights(), paths.lossPlot())
	} else { // a plot needs two log lines
		say("done: %d steps; weights in %s", tr.Step, paths.weights())
	}
	return nil
}

type runPaths struct{ dir string }

func (p runPaths) checkpoint() string { return filepath.Join(p.dir, "checkpoint.safetensors") }
func (p runPaths) weights() string    { return filepath.Join(p.dir, "weights.safetensors") }
func (p runPaths) log() string        { return filepath.Join(p.dir, "log.jsonl") }
func (p runPaths) lossPlot() string   { return filepath.Join(p.dir, "loss.png") }

// metaTotal is the checkpoint metadata key of the run's length in steps.
const metaTotal = "total_steps"

// metaInit is the checkpoint metadata key of the weights file (and its step)
// that a run started with -init began from.
const metaInit = "init"

// removeStaleTemps deletes the temporary files a killed run left behind
// (files are written to .NAME.tmp* and renamed into place).
func (p runPaths) removeStaleTemps() {
	for _, f := range []string{p.checkpoint(), p.weights(), p.lossPlot(), p.log()} {
		stale, _ := filepath.Glob(filepath.Join(p.dir, "."+filepath.Base(f)+".tmp*"))
		for _, s := range stale {
			os.Remove(s)
		}
	}
}

// truncateLog drops the log lines of steps after step (written after the
// checkpoint a resumed run starts from, which it is about to log again).
func truncateLog(path string, step int) error {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	var keep []byte
	for _, line := range bytes.SplitAfter(b, []byte("\n")) {
		var e logEntry
		if json.Unmarshal(line, &e) != nil || e.Step > step {
			continue // a line cut short by a kill, or one to be written again
		}
		keep = append(keep, line...)
	}
	if len(keep) == len(b) {
		return nil
	}
	return safetensors.AtomicWrite(path, keep)
}

// setup starts a new run or resumes the one in the run folder (returning the
// checkpoint's metadata), refusing to overwrite a checkpoint or to mix
// configurations.
func setup(o *options, p runPaths, be nn.Backend) (*unet.Trainer, map[string]string, error) {
	sched, err := ddpm.NewSchedule(o.schedule, o.timeSteps)
	if err != nil {
		return nil, nil, err
	}
	cfg := unet.DefaultConfig()
	cfg.Channels = o.channels
	cfg.Groups = o.groups
	cfg.Mults = o.mults
	cfg.EmbScale = o.embScale
	if !o.cond {
		cfg.NumClasses = 0
	}
	tc := unet.DefaultTrainConfig()
	tc.LR, tc.EMADecay, tc.PUncond = o.lr, o.ema, o.pUncond
	tc.Warmup, tc.MinSNRGamma, tc.X0Floor, tc.InputPerturb = o.warmup, o.minSNR, o.x0Floor, o.inputPerturb
	tc.NullDistill = o.nullDistill
	tc.Rollout, tc.RolloutStride = o.rollout, o.rolloutStride
	_, err = os.Stat(p.checkpoint())
	switch {
	case errors.Is(err, fs.ErrNotExist):
		if o.resume {
			return nil, nil, fmt.Errorf("-resume: no checkpoint in %s", p.dir)
		}
		if o.init != "" {
			return initRun(o, cfg, sched, tc, be)
		}
		if err := cfg.Validate(); err != nil {
			return nil, nil, err
		}
		if err := checkMemory(o, cfg); err != nil {
			return nil, nil, err
		}
		m, err := unet.New(cfg, be, o.seed)
		if err != nil {
			return nil, nil, err
		}
		return unet.NewTrainer(m, sched, tc), map[string]string{}, nil
	case err != nil:
		return nil, nil, err
	case !o.resume:
		return nil, nil, fmt.Errorf("%s already holds a checkpoint; pass -resume to continue it, or choose another -out", p.dir)
	}
	tr, meta, err := unet.LoadCheckpoint(p.checkpoint(), be)
	if err != nil {
		return nil, nil, err
	}
	if !o.set["emb-scale"] { // a run from -init of a scaled file never had the flag
		cfg.EmbScale = tr.Model.Config.EmbScale
	}
	if got := tr.Model.Config.String(); got != cfg.String() {
		return nil, nil, fmt.Errorf("the checkpoint in %s is for the model %s, the flags ask for %s; use the same -channels/-groups/-mults/-emb-scale/-cond or another -out", p.dir, got, cfg)
	}
	if tr.Schedule.Kind != sched.Kind || tr.Schedule.T() != sched.T() {
		return nil, nil, fmt.Errorf("the checkpoint in %s uses the %s schedule with T=%d, the flags ask for %s with T=%d", p.dir, tr.Schedule.Kind, tr.Schedule.T(), sched.Kind, sched.T())
	}
	if meta["seed"] != strconv.FormatUint(o.seed, 10) || meta["batch"] != strconv.Itoa(o.batch) {
		return nil, nil, fmt.Errorf("the checkpoint in %s was trained with -seed %s -batch %s; resume with the same values", p.dir, meta["seed"], meta["batch"])
	}
	// The recipe is the checkpoint's, except what the flags change, so the
	// same short command resumes a run exactly.
	saved := tr.Config
	if o.set["lr"] {
		saved.LR = tc.LR
	}
	if o.set["ema"] {
		saved.EMADecay = tc.EMADecay
	}
	if o.set["p-uncond"] {
		saved.PUncond = tc.PUncond
	}
	if o.set["min-snr"] {
		saved.MinSNRGamma = tc.MinSNRGamma
	}
	if o.set["x0-floor"] {
		saved.X0Floor = tc.X0Floor
	}
	if o.set["input-perturb"] {
		saved.InputPerturb = tc.InputPerturb
	}
	if o.set["null-distill"] {
		saved.NullDistill = tc.NullDistill
	}
	if o.set["rollout"] {
		saved.Rollout = tc.Rollout
	}
	if o.set["rollout-stride"] || saved.RolloutStride == 0 { // 0: a checkpoint from before the flag
		saved.RolloutStride = tc.RolloutStride
	}
	if o.set["warmup"] {
		saved.Warmup = tc.Warmup
	}
	if !o.set["decay-from"] && saved.DecayTo > saved.DecayFrom {
		o.decayFrom = saved.DecayFrom // decays to the (new) last step
	}
	saved.DecayFrom, saved.DecayTo = 0, 0
	tr.Config = saved
	return tr, meta, nil
}

// checkMemory refuses a network and batch estimated to need more than
// -max-memory, before anything of the size is allocated.
func checkMemory(o *options, cfg unet.Config) error {
	if err := cfg.CheckMemory(o.batch, true, int64(o.maxMemoryGB*1e9)); err != nil {
		return fmt.Errorf("%v; raise -max-memory to train it anyway", err)
	}
	return nil
}

// initRun starts a new run from the weights in o.init: the network and
// schedule are the file's (flags that name others are an error), the
// optimiser starts afresh and the weight average starts at the weights.
func initRun(o *options, cfg unet.Config, sched *ddpm.Schedule, tc unet.TrainConfig, be nn.Backend) (*unet.Trainer, map[string]string, error) {
	m, meta, err := unet.Load(o.init, be)
	if err != nil {
		return nil, nil, fmt.Errorf("-init: %v", err)
	}
	fileSched, err := unet.ScheduleOf(meta)
	if err != nil {
		return nil, nil, fmt.Errorf("-init %s: %v", o.init, err)
	}
	got := m.Config
	switch {
	case (o.set["channels"] && got.Channels != cfg.Channels) || (o.set["groups"] && got.Groups != cfg.Groups) ||
		(o.set["mults"] && !slices.Equal(got.Mults, cfg.Mults)) || (o.set["cond"] && got.NumClasses != cfg.NumClasses) ||
		(o.set["emb-scale"] && got.EmbScale != cfg.EmbScale):
		return nil, nil, fmt.Errorf("-init %s holds the model %s, the flags ask for %s: drop -channels/-groups/-mults/-emb-scale/-cond (go run ./cmd/widen grows a network's channels or adds -emb-scale)", o.init, got, cfg)
	case (o.set["schedule"] || o.set["T"]) && (fileSched.Kind != sched.Kind || fileSched.T() != sched.T()):
		return nil, nil, fmt.Errorf("-init %s uses the %s schedule with T=%d, the flags ask for %s with T=%d", o.init, fileSched.Kind, fileSched.T(), sched.Kind, sched.T())
	}
	if err := checkMemory(o, got); err != nil {
		return nil, nil, err
	}
	from := o.init
	if s := meta[unet.MetaStep]; s != "" {
		from += " (step " + s + ")"
	}
	return unet.NewTrainer(m, fileSched, tc), map[string]string{metaInit: from}, nil
}

// sampleGrid writes an 8×8 grid of samples of the digits 0–9 in turn (or
// unconditional ones), 10 DPM-Solver++ 2M steps, guidance 2, a fixed seed so
// grids of different steps compare.
func sampleGrid(m *unet.Model, s *ddpm.Schedule, path string) error {
	const n = 64
	var labels []int
	var model ddpm.Denoiser = m
	if m.Config.NumClasses > 0 {
		labels = make([]int, n)
		for i := range labels {
			labels[i] = i % 10
		}
		model = &ddpm.Guided{Model: m, Scale: 2, NullLabel: m.Config.NullLabel()}
	}
	sampler, err := ddpm.NewSampler("dpmpp2m", s, 10, 0)
	if err != nil {
		return err
	}
	x, err := ddpm.Sample(model, sampler, n, m.Config.Pixels(), labels, ddpm.NewRNG(12345))
	if err != nil {
		return err
	}
	return picture.SavePNG(path, picture.Grid(x, n, m.Config.ImageSize, 8, 2, 2))
}

// openBackend picks the kernels to train on and says which in one line:
// -backend auto takes the GPU when one opens and otherwise says why not.
func openBackend(o *options, w io.Writer) (nn.Backend, string, error) {
	cpuLine := fmt.Sprintf("cpu, our float32 kernels on %d cores", runtime.GOMAXPROCS(0))
	switch o.backend {
	case "cpu":
		fmt.Fprintf(w, "backend: %s\n", cpuLine)
		return nn.CPU{}, "cpu", nil
	case "gorgonia":
		fmt.Fprintf(w, "backend: gorgonia TapeMachine (slow; the reference engine)\n")
		return nn.CPU{}, "gorgonia", nil
	}
	g, err := cuda.Open(cuda.Options{TF32: o.tf32})
	if err != nil {
		if o.backend == "cuda" {
			return nil, "", fmt.Errorf("-backend cuda: %v", err)
		}
		fmt.Fprintf(w, "backend: %s (no GPU: %v)\n", cpuLine, err)
		return nn.CPU{}, "cpu", nil
	}
	precision := "float32"
	if o.tf32 {
		precision = "TF32 GEMMs"
	}
	fmt.Fprintf(w, "backend: cuda, %s, %s\n", g.Info(), precision)
	return g, "cuda", nil
}

// recipe describes a training configuration in a line, with the learning
// rate of the next step.
func recipe(c unet.TrainConfig, next int) string {
	s := fmt.Sprintf("Adam %g", c.LR)
	if c.Warmup > 0 {
		s += fmt.Sprintf(", warm-up over %d steps", c.Warmup)
	}
	if c.DecayTo > c.DecayFrom {
		s += fmt.Sprintf(", cosine decay from step %d to 0 at step %d", c.DecayFrom, c.DecayTo)
	}
	s += fmt.Sprintf(" (step %d: %.3g)", next, c.LRAt(next))
	if c.MinSNRGamma > 0 {
		s += fmt.Sprintf("; loss weighted by min-SNR-%g", c.MinSNRGamma)
	}
	if c.X0Floor > 0 {
		s += fmt.Sprintf("; x̂₀ weight floor %g", c.X0Floor)
	}
	if c.InputPerturb > 0 {
		s += fmt.Sprintf("; input perturbation %g", c.InputPerturb)
	}
	if c.NullDistill {
		s += "; null label trained on the EMA's conditional predictions"
	}
	if c.Rollout > 0 {
		s += fmt.Sprintf("; labelled images trained with probability %g on the EMA's DDIM step from %d timesteps higher", c.Rollout, c.RolloutStride)
	}
	return s + fmt.Sprintf("; label dropped with probability %g; EMA %g", c.PUncond, c.EMADecay)
}
