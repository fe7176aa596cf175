package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ddpm-go/ddpm/ddpm/nn"
	"github.com/ddpm-go/ddpm/ddpm/unet"
)

const (
	full  = "../../weights/mnist.safetensors"
	small = "../../weights/mnist-small.safetensors"
)

// Mixing the shipped network with itself gives it back, and the file says
// what it was mixed from and claims no training step.
func TestRunWritesTheMix(t *testing.T) {
	out := filepath.Join(t.TempDir(), "sub", "mix.safetensors")
	if err := run(&options{a: full, b: full, w: 0.3, out: out}); err != nil {
		t.Fatal(err)
	}
	got, meta, err := unet.Load(out, nn.CPU{})
	if err != nil {
		t.Fatal(err)
	}
	want, _, err := unet.Load(full, nn.CPU{})
	if err != nil {
		t.Fatal(err)
	}
	if got.Config.String() != want.Config.String() {
		t.Fatalf("config %s, want %s", got.Config, want.Config)
	}
	for i, v := range want.Weights.Data {
		if d := got.Weights.Data[i] - v; d > 1e-6 || d < -1e-6 {
			t.Fatalf("weight %d: %v, want %v", i, got.Weights.Data[i], v)
		}
	}
	if _, ok := meta[unet.MetaStep]; ok {
		t.Errorf("the mix claims step %s", meta[unet.MetaStep])
	}
	if m := meta["mixed_from"]; !strings.Contains(m, "×0.7") || !strings.Contains(m, "×0.3") {
		t.Errorf("mixed_from %q does not give both shares", m)
	}
	if err := run(&options{a: full, b: full, w: 0.3, out: out}); err == nil || !strings.Contains(err.Error(), "pass -force") {
		t.Errorf("writing over %s without -force: error %v", out, err)
	}
}

func TestRunRejectsBadFlags(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "mix.safetensors")
	for _, tc := range []struct {
		o    options
		want string
	}{
		{options{a: full, w: 0.5, out: out}, "-a, -b and -out are required"},
		{options{a: full, b: full, w: 1.5, out: out}, "-w 1.5"},
		{options{a: full, b: full, w: 0.5, out: dir}, "is a folder"},
		{options{a: "no-such.safetensors", b: full, w: 0.5, out: out}, "no weights at no-such.safetensors (pass -a)"},
		{options{a: full, b: small, w: 0.5, out: out}, "the configs differ"},
	} {
		err := run(&tc.o)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: error %v, want one containing %q", tc.o, err, tc.want)
		}
	}
	if _, err := os.Stat(out); err == nil {
		t.Errorf("a refused run wrote %s", out)
	}
}
