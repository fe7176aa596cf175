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
	if err := NoArgs(fs); err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", fs.Name(), err)
		return 2, false
	}
	return 0, true
}

// NoArgs refuses what is left in fs after its flags: the commands take none.
func NoArgs(fs *flag.FlagSet) error {
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q (flags start with -)", fs.Arg(0))
	}
	return nil
}

// ExitFlags exits for what a command's own flag checks returned: 0 after
// -help, 2 with "name: err" after anything else; it does nothing when err
// is nil.
func ExitFlags(name string, err error) {
	switch {
	case err == nil:
	case errors.Is(err, flag.ErrHelp):
		os.Exit(0)
	default:
		fmt.Fprintf(os.Stderr, "%s: %v\n", name, err)
		os.Exit(2)
	}
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
