package cuda

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
)

func TestSearchDirsOrder(t *testing.T) {
	venv := t.TempDir()
	for _, d := range []string{"nvidia/cublas/lib", "nvidia/cuda_nvrtc/lib"} {
		if err := os.MkdirAll(filepath.Join(venv, "lib", "python3.12", "site-packages", d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	env := map[string]string{
		PathEnv:           "/opt/mine:/opt/also",
		"LD_LIBRARY_PATH": "/opt/ld:/opt/mine",
		"CUDA_HOME":       "/opt/cuda-12",
		"VIRTUAL_ENV":     venv,
	}
	dirs := searchDirs(func(k string) string { return env[k] })
	site := filepath.Join(venv, "lib", "python3.12", "site-packages", "nvidia")
	want := []string{"/opt/mine", "/opt/also", "/opt/ld", "/opt/cuda-12/lib64", "/opt/cuda-12/lib",
		"/usr/local/cuda/lib64", "/usr/local/cuda/targets/x86_64-linux/lib", "/usr/local/cuda/targets/sbsa-linux/lib",
		filepath.Join(site, "cublas", "lib"), filepath.Join(site, "cuda_nvrtc", "lib")}
	if len(dirs) < len(want) || !slices.Equal(dirs[:len(want)], want) {
		t.Fatalf("search order\n got %q\nwant %q first", dirs, want)
	}
	if !slices.Contains(dirs, "/usr/lib/x86_64-linux-gnu") {
		t.Errorf("system library folder missing from %q", dirs)
	}
}

func TestPreferMajor(t *testing.T) {
	for _, c := range []struct {
		driver int
		want   []string
	}{
		{13, nvrtcNames},
		{12, []string{"libnvrtc.so.12", "libnvrtc.so.11.2", "libnvrtc.so.13", "libnvrtc.so"}},
		{11, []string{"libnvrtc.so.11.2", "libnvrtc.so.13", "libnvrtc.so.12", "libnvrtc.so"}},
	} {
		if got := preferMajor(nvrtcNames, c.driver); !slices.Equal(got, c.want) {
			t.Errorf("driver CUDA %d: got %q, want %q", c.driver, got, c.want)
		}
	}
}

func TestInfoString(t *testing.T) {
	i := Info{Name: "NVIDIA H100 80GB HBM3", Memory: 85 << 30, Major: 9, Minor: 0, Driver: 12040, NVRTC: 12040, CUBLAS: 120405}
	want := "NVIDIA H100 80GB HBM3 (85.0 GiB, sm_90), driver CUDA 12.4, NVRTC 12.4, cuBLAS 12.4.5"
	if got := i.String(); got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}
