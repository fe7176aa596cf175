package main

import (
	"os"
	"strings"
	"testing"
)

func TestParseFlagsRejects(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"-backend", "gpu"}, "unknown -backend"},
		{[]string{"-batch", "0"}, "-batch"},
		{[]string{"-lr", "-1"}, "-lr"},
		{[]string{"-channels", "12"}, "multiple of 8"},
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
	if _, _, err := setup(o, p); err == nil || !strings.Contains(err.Error(), "no checkpoint") {
		t.Errorf("resume without checkpoint: %v", err)
	}
	o.resume = false
	tr, _, err := setup(o, p)
	if err != nil {
		t.Fatal(err)
	}
	if err := tr.SaveCheckpoint(p.checkpoint(), map[string]string{"seed": "1", "batch": "64"}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := setup(o, p); err == nil || !strings.Contains(err.Error(), "already holds a checkpoint") {
		t.Errorf("new run over a checkpoint: %v", err)
	}
	o.resume = true
	if _, _, err := setup(o, p); err != nil {
		t.Errorf("resume: %v", err)
	}
	o.channels = 16
	if _, _, err := setup(o, p); err == nil || !strings.Contains(err.Error(), "is for the model") {
		t.Errorf("resume with other -channels: %v", err)
	}
	o.channels, o.seed = 8, 2
	if _, _, err := setup(o, p); err == nil || !strings.Contains(err.Error(), "-seed") {
		t.Errorf("resume with another seed: %v", err)
	}
	// A corrupt checkpoint is reported, not loaded.
	os.WriteFile(p.checkpoint(), []byte("garbage"), 0o644)
	o.seed = 1
	if _, _, err := setup(o, p); err == nil {
		t.Error("corrupt checkpoint loaded")
	}
}
