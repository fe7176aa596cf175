package main

import (
	"bytes"
	"os"
	"strings"
	"testing"

	"github.com/ddpm-go/ddpm/ddpm/nn"
	"github.com/ddpm-go/ddpm/ddpm/nn/cuda"
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
		{[]string{"extra"}, "unexpected argument"},
		{[]string{"-steps", "0", "-epochs", "0"}, "positive"},
	} {
		_, err := parseFlags(tc.args)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: error %v, want one mentioning %q", tc.args, err, tc.want)
		}
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
	o.channels, o.seed = 8, 2
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
