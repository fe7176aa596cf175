//go:build linux && (amd64 || arm64)

package cuda

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestEmulatedGPU builds the CPU stand-ins for libcuda, cuBLAS and NVRTC in
// testdata/emulator (needs g++) and runs the GPU tests against them in a
// child process: the whole Go backend and the kernels of kernels.cu,
// unchanged, must match the CPU backend. It runs in a child because a
// process can hold only one libcuda.so.1.
func TestEmulatedGPU(t *testing.T) {
	if os.Getenv("DDPM_CUDA_EMULATOR") == "1" {
		t.Skip("already in the emulator")
	}
	if testing.Short() {
		t.Skip("-short: the emulated training steps take one to two minutes")
	}
	gxx, err := exec.LookPath("g++")
	if err != nil {
		t.Skip("g++ not installed: cannot build the emulator")
	}
	dir := t.TempDir()
	for _, lib := range []struct{ src, out string }{
		{"driver.cpp", "libcuda.so.1"}, {"cublas.cpp", "libcublas.so.13"}, {"nvrtc.cpp", "libnvrtc.so.13"},
	} {
		cmd := exec.Command(gxx, "-std=c++20", "-O2", "-shared", "-fPIC", "-o", filepath.Join(dir, lib.out),
			filepath.Join("testdata", "emulator", lib.src))
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("building %s: %v\n%s", lib.out, err, out)
		}
	}
	cmd := exec.Command(os.Args[0], "-test.run=^(TestKernelsMatchCPU|TestTrainStepMatchesCPU)$", "-test.v", "-test.count=1")
	cmd.Env = append(os.Environ(), PathEnv+"="+dir, "DDPM_REQUIRE_GPU=1", "DDPM_CUDA_EMULATOR=1")
	out, err := cmd.CombinedOutput()
	text := string(out)
	if err != nil {
		t.Fatalf("GPU tests on the emulator failed: %v\n%s", err, text)
	}
	for _, want := range []string{"--- PASS: TestKernelsMatchCPU", "--- PASS: TestTrainStepMatchesCPU", "CPU emulator"} {
		if !strings.Contains(text, want) {
			t.Fatalf("emulator run lacks %q:\n%s", want, text)
		}
	}
	for _, line := range strings.Split(text, "\n") {
		if strings.Contains(line, "train_test.go") || strings.Contains(line, "opened") {
			t.Log(strings.TrimSpace(line))
		}
	}
}
