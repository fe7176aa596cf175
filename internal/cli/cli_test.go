package cli

import (
	"bytes"
	"errors"
	"flag"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		args   []string
		code   int
		ok     bool
		stderr string // a part of what parse prints itself
		wantN  int
	}{
		{args: nil, ok: true},
		{args: []string{"-n", "3"}, ok: true, wantN: 3},
		{args: []string{"-help"}, code: 0},
		{args: []string{"-nope"}, code: 2},
		{args: []string{"-n", "x"}, code: 2},
		{args: []string{"-n", "3", "extra"}, code: 2, stderr: `tool: unexpected argument "extra" (flags start with -)`},
	} {
		fs := flag.NewFlagSet("tool", flag.ContinueOnError)
		fs.SetOutput(io.Discard)
		n := fs.Int("n", 1, "")
		var stderr bytes.Buffer
		code, ok := parse(fs, tc.args, &stderr)
		if code != tc.code || ok != tc.ok {
			t.Errorf("parse(%q) = %d, %v; want %d, %v", tc.args, code, ok, tc.code, tc.ok)
		}
		if !strings.Contains(stderr.String(), tc.stderr) {
			t.Errorf("parse(%q) printed %q; want it to hold %q", tc.args, stderr.String(), tc.stderr)
		}
		if tc.wantN != 0 && *n != tc.wantN {
			t.Errorf("parse(%q): -n is %d; want %d", tc.args, *n, tc.wantN)
		}
	}
}

func TestCheckOut(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "w.safetensors")
	if err := os.WriteFile(file, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		path  string
		force bool
		want  string // "" for no error
	}{
		{filepath.Join(dir, "new.safetensors"), false, ""},
		{file, true, ""},
		{file, false, "exists; pass -force to replace it"},
		{dir, true, "is a folder; give a file name, such as " + filepath.Join(dir, "mix.safetensors")},
	} {
		err := CheckOut(tc.path, tc.force, "mix.safetensors")
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("CheckOut(%s, %v) = %v; want nil", tc.path, tc.force, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("CheckOut(%s, %v) = %v; want an error holding %q", tc.path, tc.force, err, tc.want)
		}
	}
}

func TestUsage(t *testing.T) {
	fs := flag.NewFlagSet("tool", flag.ContinueOnError)
	var out bytes.Buffer
	fs.SetOutput(&out)
	fs.Int("n", 1, "how many")
	Usage(fs, "go run ./cmd/tool [flags]", "Does a thing.")
	if code, ok := parse(fs, []string{"-help"}, io.Discard); code != 0 || ok {
		t.Fatalf("parse(-help) = %d, %v; want 0, false", code, ok)
	}
	want := "Usage: go run ./cmd/tool [flags]\n\nDoes a thing.\n\nFlags:\n  -n int\n    \thow many (default 1)\n"
	if out.String() != want {
		t.Errorf("-help printed\n%q\nwant\n%q", out.String(), want)
	}
}

// TestExits runs this test binary again to call Exit and ExitFlags, which
// end the process, and checks the status and what they print.
func TestExits(t *testing.T) {
	if call := os.Getenv("CLI_TEST_CALL"); call != "" {
		switch call {
		case "Exit nil":
			Exit("tool", nil)
		case "Exit err":
			Exit("tool", errors.New("it broke"))
		case "ExitFlags nil":
			ExitFlags("tool", nil)
		case "ExitFlags help":
			ExitFlags("tool", flag.ErrHelp)
		case "ExitFlags err":
			ExitFlags("tool", errors.New("-n x: not a number"))
		}
		os.Exit(42) // returned: the caller goes on
	}
	for _, tc := range []struct {
		call   string
		code   int
		stderr string
	}{
		{"Exit nil", 42, ""},
		{"Exit err", 1, "tool: it broke\n"},
		{"ExitFlags nil", 42, ""},
		{"ExitFlags help", 0, ""},
		{"ExitFlags err", 2, "tool: -n x: not a number\n"},
	} {
		cmd := exec.Command(os.Args[0], "-test.run=^TestExits$")
		cmd.Env = append(os.Environ(), "CLI_TEST_CALL="+tc.call)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		err := cmd.Run()
		code := 0
		var exit *exec.ExitError
		if errors.As(err, &exit) {
			code = exit.ExitCode()
		} else if err != nil {
			t.Fatalf("%s: %v", tc.call, err)
		}
		if code != tc.code || stderr.String() != tc.stderr {
			t.Errorf("%s: exit %d, stderr %q; want %d, %q", tc.call, code, stderr.String(), tc.code, tc.stderr)
		}
	}
}
