//go:build linux && (amd64 || arm64)

package cuda

import (
	"fmt"
	"path/filepath"
	"strings"

	"github.com/ebitengine/purego"
)

// library is an opened shared library.
type library struct {
	handle uintptr
	path   string
}

// openLibrary opens the first loadable candidate of names in dirs. Its error
// says what was looked for, where, and why the files found did not load.
func openLibrary(what string, names, dirs []string) (*library, error) {
	var reasons []string
	for _, p := range candidates(names, dirs) {
		h, err := purego.Dlopen(p, purego.RTLD_NOW|purego.RTLD_GLOBAL)
		if err == nil {
			return &library{handle: h, path: p}, nil
		}
		if strings.Contains(p, "/") { // a file that exists but did not load
			reasons = append(reasons, err.Error())
		}
	}
	msg := fmt.Sprintf("%s not found (looked for %s in %d folders and the system library path; set %s to the folder that holds it)",
		what, strings.Join(names, ", "), len(dirs), PathEnv)
	if len(reasons) > 0 {
		msg = fmt.Sprintf("%s found but not loadable: %s", what, strings.Join(reasons, "; "))
	}
	return nil, fmt.Errorf("%s", msg)
}

// preloadBeside opens the libraries matching pattern in the folders of the
// candidates of names, so that a library found by path (in a pip wheel, say)
// finds its own dependencies there (libcublasLt beside libcublas,
// libnvrtc-builtins beside libnvrtc). Failures are left to the main load.
func preloadBeside(pattern string, names, dirs []string) {
	for _, p := range candidates(names, dirs) {
		if !strings.Contains(p, "/") {
			continue
		}
		deps, _ := filepath.Glob(filepath.Join(filepath.Dir(p), pattern))
		for _, d := range deps {
			purego.Dlopen(d, purego.RTLD_NOW|purego.RTLD_GLOBAL)
		}
		return
	}
}

// symbol binds a Go function variable to the C function name.
type symbol struct {
	fn   any // pointer to a func variable
	name string
}

// bind resolves every symbol or reports all the missing ones.
func (l *library) bind(syms []symbol) error {
	var missing []string
	for _, s := range syms {
		addr, err := purego.Dlsym(l.handle, s.name)
		if err != nil || addr == 0 {
			missing = append(missing, s.name)
			continue
		}
		purego.RegisterFunc(s.fn, addr)
	}
	if len(missing) > 0 {
		return fmt.Errorf("%s lacks %s (too old?)", l.path, strings.Join(missing, ", "))
	}
	return nil
}
