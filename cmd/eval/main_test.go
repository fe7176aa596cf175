package main

import (
	"strings"
	"testing"

	"github.com/ddpm-go/ddpm/ddpm"
	"github.com/ddpm-go/ddpm/ddpm/classifier"
	"github.com/ddpm-go/ddpm/ddpm/mnist"
	"github.com/ddpm-go/ddpm/ddpm/nn"
	"github.com/ddpm-go/ddpm/ddpm/unet"
)

// -x0 classifies x̂₀ after every step without changing the samples: the
// row is the same with and without it, and it has one point per step, from
// the noisiest timestep down.
func TestX0LeavesTheSamplesAlone(t *testing.T) {
	be := nn.CPU{}
	m, meta, err := unet.Load("../../weights/mnist.safetensors", be)
	if err != nil {
		t.Fatal(err)
	}
	sched, err := unet.ScheduleOf(meta)
	if err != nil {
		t.Fatal(err)
	}
	clf, _, err := classifier.Load("../../weights/classifier.safetensors", be)
	if err != nil {
		t.Fatal(err)
	}
	dir, err := mnist.DefaultDir()
	if err != nil {
		t.Fatal(err)
	}
	test, err := mnist.Load(dir, mnist.Test, classifier.Size)
	if err != nil {
		t.Fatal(err)
	}
	test.N = 200 // a smaller reference is enough to compare two rows
	ref, err := newReference(clf, test, 50)
	if err != nil {
		t.Fatal(err)
	}
	model := &ddpm.Guided{Model: m, Scale: 1, NullLabel: m.Config.NullLabel()}
	o := &options{perClass: 3, batch: 16, seed: 1}
	plain, err := conditionalRow(o, ref, model, sched, "dpmpp2m", 6, 1)
	if err != nil {
		t.Fatal(err)
	}
	o.x0 = true
	traced, err := conditionalRow(o, ref, model, sched, "dpmpp2m", 6, 1)
	if err != nil {
		t.Fatal(err)
	}
	if plain.X0 != nil {
		t.Errorf("without -x0 the row has x̂₀ points: %v", plain.X0)
	}
	if plain.Accuracy != traced.Accuracy || plain.FD != traced.FD || plain.KID != traced.KID {
		t.Errorf("-x0 changed the samples: accuracy %v → %v, FD %v → %v", plain.Accuracy, traced.Accuracy, plain.FD, traced.FD)
	}
	if len(traced.X0) != traced.Steps {
		t.Fatalf("%d x̂₀ points for %d steps", len(traced.X0), traced.Steps)
	}
	for i, p := range traced.X0 {
		if p.Accuracy < 0 || p.Accuracy > 1 || (i > 0 && p.T >= traced.X0[i-1].T) {
			t.Errorf("point %d: %+v (after %+v)", i, p, traced.X0[max(i-1, 0)])
		}
	}
	// DPM-Solver++'s last step returns its x̂₀, so the last point is the
	// row's accuracy: verdicts out of line with their labels would show.
	if last := traced.X0[len(traced.X0)-1]; last.Accuracy != traced.Accuracy {
		t.Errorf("x̂₀ accuracy after the last step %v, the samples' %v", last.Accuracy, traced.Accuracy)
	}
	// Guidance on an interval covering every step is plain guidance.
	o.x0 = false
	whole, err := conditionalRow(o, ref, model2(m), sched, "dpmpp2m", 6, 2)
	if err != nil {
		t.Fatal(err)
	}
	o.from, o.to = 0, 999
	ranged, err := conditionalRow(o, ref, &ddpm.Guided{Model: m, Scale: 2, NullLabel: m.Config.NullLabel(), From: 0, To: 999}, sched, "dpmpp2m", 6, 2)
	if err != nil {
		t.Fatal(err)
	}
	if whole.FD != ranged.FD || ranged.GuidanceTo != 999 || whole.GuidanceTo != 0 {
		t.Errorf("interval 0–999: FD %v against %v without, interval recorded as %d–%d", ranged.FD, whole.FD, ranged.GuidanceFrom, ranged.GuidanceTo)
	}
	if traced.X0[0].T != 999 {
		t.Errorf("first point at t=%d, want 999", traced.X0[0].T)
	}
}

func model2(m *unet.Model) ddpm.Denoiser {
	return &ddpm.Guided{Model: m, Scale: 2, NullLabel: m.Config.NullLabel()}
}

func TestGuidanceIntervalFlag(t *testing.T) {
	for _, bad := range []string{"5", "499,0", "-1,5", "0,0", "0,99999999", "a,b"} {
		if _, err := parseFlags([]string{"-guidance-interval", bad}); err == nil || !strings.Contains(err.Error(), "-guidance-interval") {
			t.Errorf("-guidance-interval %s: error %v", bad, err)
		}
	}
	o, err := parseFlags([]string{"-guidance-interval", "0,499"})
	if err != nil || o.from != 0 || o.to != 499 {
		t.Errorf("0,499: %+v, %v", o, err)
	}
}
