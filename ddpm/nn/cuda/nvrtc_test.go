//go:build linux && (amd64 || arm64)

package cuda

import (
	"os"
	"strings"
	"testing"
)

// nvrtcOrSkip loads NVRTC or skips: it is optional on machines without a GPU
// (Debian: apt install libnvrtc11.2 from non-free).
func nvrtcOrSkip(t *testing.T) *nvrtc {
	t.Helper()
	rtc, err := loadNVRTC(searchDirs(os.Getenv), 99)
	if err != nil {
		skipUnlessRequired(t, err)
	}
	return rtc
}

// TestKernelsCompile compiles kernels.cu with the NVRTC found and checks
// that every kernel the backend looks up is in the PTX.
func TestKernelsCompile(t *testing.T) {
	rtc := nvrtcOrSkip(t)
	t.Logf("NVRTC %s from %s", cudaVersion(rtc.version()), rtc.lib.path)
	ptx, err := rtc.compile(kernelSource, "kernels.cu", "compute_80")
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range kernelNames {
		if !strings.Contains(string(ptx), ".entry "+k+"(") {
			t.Errorf("kernel %s missing from the PTX", k)
		}
	}
	// sm_75 is the oldest architecture every NVRTC from 11.2 to 13 accepts
	// (CUDA 13 dropped sm_70: seen on an H200 machine, NVRTC_ERROR_INVALID_OPTION).
	for _, arch := range []string{"sm_75", "sm_80", "sm_90"} {
		cubin, err := rtc.compile(kernelSource, "kernels.cu", arch)
		if err != nil {
			t.Fatal(err)
		}
		if len(cubin) < 4 || string(cubin[1:4]) != "ELF" {
			t.Errorf("%s: the CUBIN is not an ELF image", arch)
		}
	}
}

// TestCompileErrorShowsLog checks that a kernel that does not compile gives
// NVRTC's log with the offending line.
func TestCompileErrorShowsLog(t *testing.T) {
	rtc := nvrtcOrSkip(t)
	_, err := rtc.compile("extern \"C\" __global__ void k(float* x) { x[0] = undefined_name; }", "bad.cu", "compute_80")
	if err == nil || !strings.Contains(err.Error(), "undefined_name") || !strings.Contains(err.Error(), "bad.cu") {
		t.Fatalf("got %v, want NVRTC's log naming bad.cu and undefined_name", err)
	}
}
