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

// openLibrary opens the first loadable candidate of names in dirs. Before a
// candidate found by path it opens the libraries matching deps (a glob, may be
// empty) in the same folder, so that a library in a pip wheel, say, finds its
// own dependencies there (libcublasLt beside libcublas, libnvrtc-builtins
// beside libnvrtc). Its error says what was looked for, where, and why the
// files found did not load.
func openLibrary(what, deps string, names, dirs []string) (*library, error) {
	var reasons []string
	for _, p := range candidates(names, dirs) {
		if deps != "" && strings.Contains(p, "/") {
			found, _ := filepath.Glob(filepath.Join(filepath.Dir(p), deps))
			for _, d := range found {
				purego.Dlopen(d, purego.RTLD_NOW|purego.RTLD_GLOBAL) // a failure shows when p loads
			}
		}
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
