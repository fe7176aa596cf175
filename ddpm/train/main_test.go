package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/ddpm-go/ddpm/ddpm/nn"
	"github.com/ddpm-go/ddpm/ddpm/nn/cuda"
	"github.com/ddpm-go/ddpm/ddpm/safetensors"
	"github.com/ddpm-go/ddpm/ddpm/unet"
)

func TestParseFlagsRejects(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"-backend", "gpu"}, "unknown -backend"},
		{[]string{"-batch", "0"}, "-batch"},
		{[]string{"-lr", "-1"}, "-lr"},
		{[]string{"-channels", "12"}, "multiple of -groups (8)"},
		{[]string{"-channels", "12", "-groups", "5"}, "multiple of -groups (5)"},
		{[]string{"-ema", "1"}, "-ema"},
		{[]string{"-warmup", "-1"}, "-warmup -1"},
		{[]string{"-decay-from", "-2"}, "-decay-from -2"},
		{[]string{"-min-snr", "-1"}, "-min-snr"},
		{[]string{"-min-snr", "NaN"}, "-min-snr"},
		{[]string{"-x0-floor", "-0.5"}, "-x0-floor"},
		{[]string{"-x0-floor", "Inf"}, "-x0-floor"},
		{[]string{"-ema", "NaN"}, "-ema NaN"},
		{[]string{"-p-uncond", "NaN"}, "-p-uncond NaN"},
		{[]string{"-null-distill", "-cond=false"}, "-null-distill"},
		{[]string{"-null-distill", "-p-uncond", "0"}, "-p-uncond > 0"},
		{[]string{"-mults", "1,2,x"}, `-mults: channel mults "1,2,x"`},
		{[]string{"-mults", "1,0"}, "-mults"},
		{[]string{"extra"}, "unexpected argument"},
		{[]string{"-schedule", "foo"}, `-schedule: ddpm: unknown schedule "foo"`},
		{[]string{"-sample-every", "-1"}, "-sample-every and -eval-every must be ≥ 0"},
		{[]string{"-checkpoint-every", "0"}, "-checkpoint-every"},
		{[]string{"-rollout", "1.5"}, "-rollout 1.5"},
		{[]string{"-rollout", "0.5", "-cond=false"}, "-rollout trains the labelled images"},
		{[]string{"-rollout", "0.5", "-rollout-stride", "0"}, "-rollout-stride 0 is outside 1..999"},
		{[]string{"-rollout", "0.5", "-T", "50"}, "-rollout-stride 100 is outside 1..49"},
		{[]string{"-steps", "10", "-decay-from", "10"}, "-decay-from 10 is not before the last step 10"},
		{[]string{"-steps", "0", "-epochs", "0"}, "positive"},
	} {
		_, err := parseFlags(tc.args)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: error %v, want one mentioning %q", tc.args, err, tc.want)
		}
	}
	if _, err := parseFlags([]string{"-T", "50"}); err != nil {
		t.Errorf("-T 50 without -rollout: %v", err)
	}
	o, err := parseFlags(nil)
	if err != nil || o.epochs != 20 || o.batch != 64 || o.backend != "auto" || !o.cond {
		t.Errorf("defaults: %+v, %v", o, err)
	}
}

// setup never overwrites a run by accident and refuses to mix configurations.
func TestSetupGuardsTheRunFolder(t *testing.T) {
	dir := t.TempDir()
	p := runPaths{dir: dir}
	o, _ := parseFlags([]string{"-out", dir, "-channels", "8", "-resume"})
	if _, _, err := setup(o, p, nn.CPU{}); err == nil || !strings.Contains(err.Error(), "no checkpoint") {
		t.Errorf("resume without checkpoint: %v", err)
	}
	o.resume = false
	tr, _, err := setup(o, p, nn.CPU{})
	if err != nil {
		t.Fatal(err)
	}
	if err := tr.SaveCheckpoint(p.checkpoint(), map[string]string{"seed": "1", "batch": "64"}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := setup(o, p, nn.CPU{}); err == nil || !strings.Contains(err.Error(), "already holds a checkpoint") {
		t.Errorf("new run over a checkpoint: %v", err)
	}
	o.resume = true
	if _, _, err := setup(o, p, nn.CPU{}); err != nil {
		t.Errorf("resume: %v", err)
	}
	o.channels = 16
	if _, _, err := setup(o, p, nn.CPU{}); err == nil || !strings.Contains(err.Error(), "is for the model") {
		t.Errorf("resume with other -channels: %v", err)
	}
	o.channels, o.mults = 8, []int{1, 2, 4}
	if _, _, err := setup(o, p, nn.CPU{}); err == nil || !strings.Contains(err.Error(), "-mults") {
		t.Errorf("resume with other -mults: %v", err)
	}
	o.mults, o.seed = []int{1, 2, 2}, 2
	if _, _, err := setup(o, p, nn.CPU{}); err == nil || !strings.Contains(err.Error(), "-seed") {
		t.Errorf("resume with another seed: %v", err)
	}
	// A corrupt checkpoint is reported, not loaded.
	os.WriteFile(p.checkpoint(), []byte("garbage"), 0o644)
	o.seed = 1
	if _, _, err := setup(o, p, nn.CPU{}); err == nil {
		t.Error("corrupt checkpoint loaded")
	}
}

// Without a GPU, -backend auto trains on the CPU and says why in one line;
// -backend cuda fails with that reason instead.
func TestBackendSelection(t *testing.T) {
	if g, err := cuda.Open(cuda.Options{}); err == nil {
		g.Close()
		t.Skip("a GPU is present; this test is for machines without one")
	}
	var out bytes.Buffer
	o, _ := parseFlags(nil)
	be, name, err := openBackend(o, &out)
	if err != nil || name != "cpu" || be.Name() != "cpu" {
		t.Fatalf("auto: backend %v (%s), error %v; want the CPU", be, name, err)
	}
	line := out.String()
	if strings.Count(line, "\n") != 1 || !strings.Contains(line, "backend: cpu") || !strings.Contains(line, "no GPU: cuda: ") {
		t.Errorf("auto printed %q, want one line naming the CPU and why there is no GPU", line)
	}
	out.Reset()
	o.backend = "cuda"
	if _, _, err := openBackend(o, &out); err == nil || !strings.HasPrefix(err.Error(), "-backend cuda: cuda: ") || strings.Contains(err.Error(), "\n") {
		t.Errorf("cuda without a GPU: error %v, want one line starting \"-backend cuda: cuda: \"", err)
	}
	t.Logf("auto: %s", strings.TrimSpace(line))
}

func TestParseFlagsRanges(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"-lr", "Inf"}, "-lr +Inf"},
		{[]string{"-lr", "NaN"}, "-lr NaN"},
		{[]string{"-T", "1000000000"}, "-T 1000000000 is outside 1..100000"},
		{[]string{"-max-memory", "0"}, "-max-memory"},
		{[]string{"-batch", "100000"}, "-batch 100000"},
	} {
		_, err := parseFlags(tc.args)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: error %v, want one mentioning %q", tc.args, err, tc.want)
		}
	}
	if o, _ := parseFlags([]string{"-resume"}); o.totalSet {
		t.Error("-resume alone counts as setting the run's length")
	}
	if o, _ := parseFlags([]string{"-steps", "9"}); !o.totalSet {
		t.Error("-steps does not count as setting the run's length")
	}
}

// A run refused for its settings leaves no run folder behind.
func TestRefusedRunWritesNothing(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "run")
	err := run(tinyRun(t, dir, "-epochs", "1", "-decay-from", "100000"), nil) // the length known only in run
	if err == nil || !strings.Contains(err.Error(), "-decay-from") {
		t.Fatalf("decay from the last step: %v", err)
	}
	if _, err := os.Stat(dir); err == nil {
		t.Errorf("the refused run made %s", dir)
	}
	err = run(tinyRun(t, dir, "-init", filepath.Join(dir, "none.safetensors")), nil)
	if err == nil || !strings.Contains(err.Error(), "-init: no weights file") {
		t.Errorf("-init of a missing file: %v", err)
	}
}

// tinyRun returns flags for a fast run of the small network in dir.
func tinyRun(t *testing.T, dir string, extra ...string) *options {
	t.Helper()
	o, err := parseFlags(append([]string{"-out", dir, "-channels", "4", "-groups", "2", "-batch", "4",
		"-test-images", "8", "-sample-every", "0", "-checkpoint-every", "2", "-backend", "cpu"}, extra...))
	if err != nil {
		t.Fatal(err)
	}
	return o
}

// A killed run leaves temp files and log lines past its checkpoint; a
// resumed run removes the first, drops the second, keeps its length and
// writes weights of the checkpoint's step.
func TestResumeCleansUp(t *testing.T) {
	if testing.Short() {
		t.Skip("trains a tiny network")
	}
	dir := t.TempDir()
	p := runPaths{dir: dir}
	if err := run(tinyRun(t, dir, "-steps", "3"), nil); err != nil {
		t.Fatal(err)
	}
	// What a kill -9 at step 5 after a checkpoint at step 3 leaves behind.
	stale := filepath.Join(dir, ".checkpoint.safetensors.tmp123")
	os.WriteFile(stale, []byte("half"), 0o644)
	logf, _ := os.OpenFile(p.log(), os.O_APPEND|os.O_WRONLY, 0)
	fmt.Fprintln(logf, `{"step":4,"train_loss":1}`)
	fmt.Fprint(logf, `{"step":5,"tra`)
	logf.Close()
	if err := run(tinyRun(t, dir, "-resume"), nil); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(stale); err == nil {
		t.Error("the stale temp file is still there")
	}
	ck, err := safetensors.ReadFile(p.checkpoint())
	if err != nil {
		t.Fatal(err)
	}
	w, err := safetensors.ReadFile(p.weights())
	if err != nil {
		t.Fatal(err)
	}
	if ck.Metadata[unet.MetaStep] != "3" || w.Metadata[unet.MetaStep] != "3" {
		t.Errorf("after resuming a finished 3-step run: checkpoint at step %s, weights at %s", ck.Metadata[unet.MetaStep], w.Metadata[unet.MetaStep])
	}
	if err := run(tinyRun(t, dir, "-resume", "-steps", "6"), nil); err != nil {
		t.Fatal(err)
	}
	// A fresh run in a folder whose run never wrote a checkpoint starts its log afresh.
	fresh := t.TempDir()
	os.WriteFile(runPaths{dir: fresh}.log(), []byte(`{"step":450,"train_loss":1}`+"\n"), 0o644)
	if err := run(tinyRun(t, fresh, "-steps", "2"), nil); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(runPaths{dir: fresh}.log()); strings.Contains(string(b), `"step":450`) {
		t.Errorf("a fresh run kept an old run's log lines:\n%s", b)
	}
	b, _ := os.ReadFile(p.log())
	var steps []int
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		var e logEntry
		if err := json.Unmarshal([]byte(line), &e); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		steps = append(steps, e.Step)
	}
	if fmt.Sprint(steps) != "[3 6]" {
		t.Errorf("log steps %v, want [3 6] (test loss at each run's end, nothing twice)", steps)
	}
}

// A run whose loss blows up at once says that no checkpoint exists.
func TestDivergedRunSaysNoCheckpoint(t *testing.T) {
	if testing.Short() {
		t.Skip("trains a tiny network")
	}
	dir := t.TempDir()
	o := tinyRun(t, dir, "-steps", "5", "-checkpoint-every", "100")
	o.lr = 1e30 // past -lr's range: the weights overflow on the first step
	err := run(o, nil)
	if err == nil || !strings.Contains(err.Error(), "no checkpoint was written yet") {
		t.Fatalf("error %v, want one saying no checkpoint was written", err)
	}
	if _, err := os.Stat(runPaths{dir: dir}.checkpoint()); err == nil {
		t.Error("a checkpoint exists after all")
	}
}

// Two Ctrl-C in quick succession exit at once, and what the trainer says
// about the checkpoint matches the run folder: "intact" only when one exists.
func TestDoubleInterruptTellsTheTruth(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the trainer")
	}
	if runtime.GOOS == "js" || runtime.GOOS == "wasip1" {
		t.Skip("WebAssembly cannot start processes")
	}
	bin := filepath.Join(t.TempDir(), "train")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	for _, every := range []string{"100000", "1"} {
		dir := t.TempDir()
		cmd := exec.Command(bin, "-out", dir, "-channels", "4", "-groups", "2", "-batch", "4", "-steps", "100000",
			"-sample-every", "0", "-checkpoint-every", every, "-backend", "cpu")
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		// Wait until it trains (the log gets its first line at step 50).
		deadline := time.Now().Add(60 * time.Second)
		for {
			if b, _ := os.ReadFile(filepath.Join(dir, "log.jsonl")); len(b) > 0 {
				break
			}
			if time.Now().After(deadline) {
				cmd.Process.Kill()
				t.Fatalf("no training after 60 s:\n%s", stderr.String())
			}
			time.Sleep(20 * time.Millisecond)
		}
		cmd.Process.Signal(os.Interrupt)
		time.Sleep(time.Millisecond)
		cmd.Process.Signal(os.Interrupt)
		cmd.Wait()
		_, statErr := os.Stat(runPaths{dir: dir}.checkpoint())
		msg := stderr.String()
		t.Logf("-checkpoint-every %s: %q", every, msg[strings.LastIndex(msg, "train:"):])
		switch {
		case strings.Contains(msg, "is intact") && statErr != nil:
			t.Errorf("-checkpoint-every %s: says a checkpoint is intact, but there is none", every)
		case strings.Contains(msg, "no checkpoint was written yet") && statErr == nil:
			t.Errorf("-checkpoint-every %s: says there is no checkpoint, but there is one", every)
		case !strings.Contains(msg, "interrupted twice") && (!strings.Contains(msg, "checkpoint written to") || statErr != nil):
			// The first Ctrl-C's checkpoint may be written before the second arrives.
			t.Errorf("-checkpoint-every %s: neither exited at the second interrupt nor wrote a checkpoint:\n%s", every, msg)
		}
		if every == "1" && statErr != nil {
			t.Error("no checkpoint after 50 steps with -checkpoint-every 1")
		}
	}
}

// A run with a learning-rate schedule and min-SNR weighting, stopped and
// resumed without those flags, keeps its recipe: its weights are bit for bit
// those of an uninterrupted run (whose last steps' learning rates differ from
// the flagless defaults', so a lost recipe shows).
func TestResumeKeepsTheRecipe(t *testing.T) {
	if testing.Short() {
		t.Skip("trains a tiny network")
	}
	recipe := []string{"-warmup", "2", "-decay-from", "3", "-min-snr", "5", "-x0-floor", "0.01", "-lr", "1e-3",
		"-input-perturb", "0.1", "-emb-scale", "-null-distill", "-rollout", "0.5", "-rollout-stride", "3"} // -resume below takes all of it, -emb-scale too, from the checkpoint
	whole, parts := t.TempDir(), t.TempDir()
	if err := run(tinyRun(t, whole, append(recipe, "-steps", "6")...), nil); err != nil {
		t.Fatal(err)
	}
	stop := make(chan os.Signal, 1)
	stop <- os.Interrupt // stops before the first step, with a checkpoint
	if err := run(tinyRun(t, parts, append(recipe, "-steps", "6")...), stop); err != nil {
		t.Fatal(err)
	}
	if err := run(tinyRun(t, parts, "-resume"), nil); err != nil {
		t.Fatal(err)
	}
	a, err := safetensors.ReadFile(runPaths{dir: whole}.checkpoint())
	if err != nil {
		t.Fatal(err)
	}
	b, err := safetensors.ReadFile(runPaths{dir: parts}.checkpoint())
	if err != nil {
		t.Fatal(err)
	}
	if a.Metadata[unet.MetaStep] != "6" || b.Metadata[unet.MetaStep] != "6" {
		t.Fatalf("steps %s and %s, want 6", a.Metadata[unet.MetaStep], b.Metadata[unet.MetaStep])
	}
	if a.Metadata[unet.MetaTrainConfig] != b.Metadata[unet.MetaTrainConfig] {
		t.Errorf("recipes differ:\n%s\n%s", a.Metadata[unet.MetaTrainConfig], b.Metadata[unet.MetaTrainConfig])
	}
	for i, ta := range a.Tensors {
		tb := b.Tensors[i]
		for j := range ta.Data {
			if ta.Data[j] != tb.Data[j] {
				t.Fatalf("%s[%d]: %v uninterrupted, %v resumed", ta.Name, j, ta.Data[j], tb.Data[j])
			}
		}
	}
}

// -init starts a new run from a weights file: its network, a new batch size,
// the file named in the checkpoint, and a first step that moves away from it
// (an optimiser step, not a fresh network).
func TestInitFineTunes(t *testing.T) {
	if testing.Short() {
		t.Skip("trains a tiny network")
	}
	src := t.TempDir()
	if err := run(tinyRun(t, src, "-steps", "2"), nil); err != nil {
		t.Fatal(err)
	}
	from := runPaths{dir: src}.weights()
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"-init", from, "-resume"}, "pass one of them"},
		{[]string{"-init", from, "-channels", "8", "-groups", "2"}, "drop -channels"},
		{[]string{"-init", from, "-mults", "1,2,4"}, "drop -channels/-groups/-mults"},
		{[]string{"-init", filepath.Join(src, "missing.safetensors")}, "-init"},
	} {
		o, err := parseFlags(append([]string{"-out", t.TempDir(), "-steps", "1", "-backend", "cpu", "-test-images", "8"}, tc.args...))
		if err == nil {
			err = run(o, nil)
		}
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: error %v, want one mentioning %q", tc.args, err, tc.want)
		}
	}

	dir := t.TempDir()
	o, err := parseFlags([]string{"-out", dir, "-init", from, "-batch", "6", "-steps", "1", "-test-images", "8",
		"-sample-every", "0", "-backend", "cpu", "-ema", "0"})
	if err != nil {
		t.Fatal(err)
	}
	if err := run(o, nil); err != nil {
		t.Fatal(err)
	}
	ck, err := safetensors.ReadFile(runPaths{dir: dir}.checkpoint())
	if err != nil {
		t.Fatal(err)
	}
	if ck.Metadata["batch"] != "6" || !strings.HasPrefix(ck.Metadata[metaInit], from+" (step 2)") {
		t.Errorf("checkpoint metadata %v: want batch 6 and init %q (step 2)", ck.Metadata, from)
	}
	a, _ := safetensors.ReadFile(from)
	b, _ := safetensors.ReadFile(runPaths{dir: dir}.weights())
	if b.Metadata[metaInit] != ck.Metadata[metaInit] {
		t.Errorf("the weights file's init is %q, want the checkpoint's %q", b.Metadata[metaInit], ck.Metadata[metaInit])
	}
	var moved, far float64
	for _, name := range []string{"conv_in.weight", "conv_out.weight"} {
		ta, tb := a.Tensor(name), b.Tensor(name)
		if ta == nil || tb == nil {
			t.Fatalf("no tensor %s", name)
		}
		for i := range ta.Data {
			d := float64(tb.Data[i] - ta.Data[i])
			moved += d * d
			if d > 0.01 || d < -0.01 {
				far++ // Adam's first step moves each weight by at most about lr
			}
		}
	}
	if moved == 0 || far > 0 {
		t.Errorf("after one step from -init: squared change %g, %v weights moved more than 0.01", moved, far)
	}
}

// gorgonia's engine trains the plain loss only: a weighted recipe is refused
// by name before any step, not silently trained without its weights.
func TestGorgoniaRefusesWeightedLoss(t *testing.T) {
	for _, flags := range [][]string{{"-min-snr", "5"}, {"-x0-floor", "0.01"}, {"-input-perturb", "0.1"}, {"-null-distill"}, {"-rollout", "0.5"}} {
		o := tinyRun(t, t.TempDir(), append(flags, "-steps", "1", "-backend", "gorgonia")...)
		err := run(o, nil)
		if err == nil || !strings.Contains(err.Error(), "-min-snr 0 -x0-floor 0") {
			t.Errorf("%v with -backend gorgonia: error %v, want the refusal", flags, err)
		}
	}
}

// -rollout and -rollout-stride given at -resume each replace only their own
// part of the checkpoint's recipe.
func TestResumeRolloutFlags(t *testing.T) {
	dir := t.TempDir()
	p := runPaths{dir: dir}
	o, err := parseFlags([]string{"-out", dir, "-channels", "8", "-rollout", "0.5", "-rollout-stride", "30"})
	if err != nil {
		t.Fatal(err)
	}
	tr, _, err := setup(o, p, nn.CPU{})
	if err != nil {
		t.Fatal(err)
	}
	if err := tr.SaveCheckpoint(p.checkpoint(), map[string]string{"seed": "1", "batch": "64"}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		flags  []string
		p      float64
		stride int
	}{
		{nil, 0.5, 30},
		{[]string{"-rollout-stride", "50"}, 0.5, 50},
		{[]string{"-rollout", "1"}, 1, 30},
	} {
		o, err := parseFlags(append([]string{"-out", dir, "-channels", "8", "-resume"}, tc.flags...))
		if err != nil {
			t.Fatal(err)
		}
		tr, _, err := setup(o, p, nn.CPU{})
		if err != nil {
			t.Fatal(err)
		}
		if tr.Config.Rollout != tc.p || tr.Config.RolloutStride != tc.stride {
			t.Errorf("-resume %v: rollout %v, stride %d; want %v, %d", tc.flags, tr.Config.Rollout, tr.Config.RolloutStride, tc.p, tc.stride)
		}
	}
}
