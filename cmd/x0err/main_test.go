package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/ddpm-go/ddpm/ddpm/mnist"
	"github.com/ddpm-go/ddpm/ddpm/nn"
	"github.com/ddpm-go/ddpm/ddpm/unet"
)

// On the shipped weights: near the clean end x̂₀ is far better than the
// digit's mean image, clipping (the truth lies in [−1, 1]) never raises the
// error, and the mean image's error does not depend on the timestep.
func TestMeasureShippedWeights(t *testing.T) {
	m, meta, err := unet.Load("../../weights/mnist.safetensors", nn.CPU{})
	if err != nil {
		t.Fatal(err)
	}
	sched, err := unet.ScheduleOf(meta)
	if err != nil {
		t.Fatal(err)
	}
	dir, err := mnist.DefaultDir()
	if err != nil {
		t.Fatal(err)
	}
	train, err := mnist.Load(dir, mnist.Train, 32)
	if err != nil {
		t.Fatal(err)
	}
	test, err := mnist.Load(dir, mnist.Test, 32)
	if err != nil {
		t.Fatal(err)
	}
	rows, err := measure(m, sched, train, test, []int{100, 999}, 70, 1) // two batches, one short
	if err != nil {
		t.Fatal(err)
	}
	clean, noisy := rows[0], rows[1]
	if clean.X0MSE > clean.MeanMSE/10 {
		t.Errorf("t=100: x̂₀ MSE %.4f, want well below the mean image's %.4f", clean.X0MSE, clean.MeanMSE)
	}
	for _, r := range rows {
		if r.ClippedMSE > r.X0MSE+1e-12 {
			t.Errorf("t=%d: clipping raised the error, %.4f > %.4f", r.T, r.ClippedMSE, r.X0MSE)
		}
	}
	if clean.MeanMSE != noisy.MeanMSE || clean.MeanMSE < 0.05 || clean.MeanMSE > 0.5 {
		t.Errorf("mean image MSE %.4f at t=100 and %.4f at t=999: want one value near 0.16", clean.MeanMSE, noisy.MeanMSE)
	}
	if noisy.SNR > 1e-4 || clean.SNR < 1 {
		t.Errorf("SNR %.2e at t=999 and %.2e at t=100", noisy.SNR, clean.SNR)
	}
}

func TestRunRejectsBadFlags(t *testing.T) {
	for _, tc := range []struct {
		o    options
		want string
	}{
		{options{weights: "../../weights/mnist.safetensors", ts: "999,1000", n: 10}, `"1000" is not a timestep index in 0..999`},
		{options{weights: "../../weights/mnist.safetensors", ts: "x", n: 10}, `"x" is not a timestep`},
		{options{weights: "../../weights/mnist.safetensors", ts: "5", n: 0}, "-n 0"},
		{options{weights: "../../weights/mnist.safetensors", ts: "5", n: 10001}, "the test set has 10000 images"},
		{options{weights: "no-such.safetensors", ts: "5", n: 10}, "no-such.safetensors"},
	} {
		err := run(&tc.o, &bytes.Buffer{})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: error %v, want one containing %q", tc.o, err, tc.want)
		}
	}
}
