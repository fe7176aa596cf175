//go:build !(js && wasm)

package nn

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// TestSIMDModuleUpToDate assembles simd128.wat again (go generate's command)
// and checks that the committed simd128.wasm is what it gives.
func TestSIMDModuleUpToDate(t *testing.T) {
	if _, err := exec.LookPath("npx"); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("npx (npm) is needed to assemble simd128.wat")
		}
		t.Skip("npx not found: cannot assemble simd128.wat")
	}
	out := filepath.Join(t.TempDir(), "simd128.wasm")
	cmd := exec.Command("npx", "--yes", "--package=wabt@1.0.39", "wat2wasm", "simd128.wat", "-o", out)
	if msg, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("wat2wasm: %v\n%s", err, msg)
	}
	want, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile("simd128.wasm")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Error("simd128.wasm is not simd128.wat assembled: run go generate ./ddpm/nn")
	}
}
