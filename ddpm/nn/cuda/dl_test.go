//go:build linux && (amd64 || arm64)

package cuda

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestOpenWithoutGPU checks the error on a machine without an NVIDIA driver
// or GPU: one line that names what is missing.
func TestOpenWithoutGPU(t *testing.T) {
	g, err := Open(Options{})
	if err == nil {
		defer g.Close()
		t.Skipf("a GPU is present (%s); this test is for machines without one", g.Info())
	}
	msg := err.Error()
	t.Log(msg)
	if !strings.HasPrefix(msg, "cuda: ") || strings.Contains(msg, "\n") {
		t.Errorf("want one line starting with \"cuda: \", got %q", msg)
	}
	if !strings.Contains(msg, "libcuda") && !strings.Contains(msg, "GPU") && !strings.Contains(msg, "driver") {
		t.Errorf("the error does not say what is missing: %q", msg)
	}
}

// TestUnloadableLibraryIsNamed puts a file that is not a shared library
// where the search looks and checks that the error names it and why.
func TestUnloadableLibraryIsNamed(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "libddpmfake.so.1")
	if err := os.WriteFile(bad, []byte("not an ELF file"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := openLibrary("the fake library", "", []string{"libddpmfake.so.1"}, []string{dir})
	if err == nil || !strings.Contains(err.Error(), bad) || !strings.Contains(err.Error(), "not loadable") {
		t.Fatalf("got %v, want an error naming %s as not loadable", err, bad)
	}
	_, err = openLibrary("the fake library", "", []string{"libddpmmissing.so.1"}, []string{dir})
	if err == nil || !strings.Contains(err.Error(), "not found") || !strings.Contains(err.Error(), PathEnv) {
		t.Fatalf("got %v, want \"not found\" and a pointer to %s", err, PathEnv)
	}
}

// TestBind calls a C function through the loader (this also runs with
// CGO_ENABLED=0) and checks that missing symbols are listed.
func TestBind(t *testing.T) {
	lib, err := openLibrary("libm", "", []string{"libm.so.6"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	var cosf func(float32) float32
	if err := lib.bind([]symbol{{&cosf, "cosf"}}); err != nil {
		t.Fatal(err)
	}
	if got := cosf(0); got != 1 {
		t.Errorf("cosf(0) = %v through purego", got)
	}
	var f1, f2 func()
	err = lib.bind([]symbol{{&f1, "ddpm_no_such_function"}, {&f2, "cosf"}, {&f2, "ddpm_nor_this"}})
	if err == nil || !strings.Contains(err.Error(), "ddpm_no_such_function, ddpm_nor_this") {
		t.Errorf("got %v, want both missing names", err)
	}
}

// TestCUBLASBinds checks that the cuBLAS found (if any) has every function
// the backend calls; cublasCreate itself needs a GPU.
func TestCUBLASBinds(t *testing.T) {
	b, err := loadCUBLAS(searchDirs(os.Getenv), 99)
	if err != nil {
		skipUnlessRequired(t, err)
	}
	t.Logf("bound every function in %s", b.lib.path)
}
