// Package cli is what the project's commands do alike: parse flags, refuse
// stray arguments, turn an error into one line and an exit status, and refuse
// to overwrite an output file unless told to.
package cli

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// Parse parses args into fs, which should use flag.ContinueOnError, and
// exits as a command should: 0 after -help, 2 after a bad flag (fs has said
// why) or a stray argument.
func Parse(fs *flag.FlagSet, args []string) {
	if code, ok := parse(fs, args, os.Stderr); !ok {
		os.Exit(code)
	}
}

func parse(fs *flag.FlagSet, args []string, stderr io.Writer) (code int, ok bool) {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0, false
		}
		return 2, false
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "%s: unexpected argument %q (flags start with -)\n", fs.Name(), fs.Arg(0))
		return 2, false
	}
	return 0, true
}

// Exit prints "name: err" and exits 1 when err is not nil.
func Exit(name string, err error) {
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", name, err)
		os.Exit(1)
	}
}

// CheckOut says why path, the file an -out flag names, may not be written:
// it is a folder (example is a file name to suggest inside it), or it exists
// and force is false.
func CheckOut(path string, force bool, example string) error {
	st, err := os.Stat(path)
	switch {
	case err != nil:
		return nil
	case st.IsDir():
		return fmt.Errorf("-out %s is a folder; give a file name, such as %s", path, filepath.Join(path, example))
	case !force:
		return fmt.Errorf("%s exists; pass -force to replace it", path)
	}
	return nil
}

// Usage makes fs's -help print "Usage: synopsis", what the command does, and
// its flags.
func Usage(fs *flag.FlagSet, synopsis, what string) {
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: %s\n\n%s\n\nFlags:\n", synopsis, what)
		fs.PrintDefaults()
	}
}
