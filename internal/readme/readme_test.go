// Package readme holds no code: its test checks that the commands README.md
// shows still match the code, so the README cannot drift from it.
package readme

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

const root = "../.."

// commands returns the shell commands README.md shows: every line of its sh
// code blocks, and every inline `code` span that starts like a command.
func commands(t *testing.T) []string {
	b, err := os.ReadFile(filepath.Join(root, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	var prose strings.Builder // the text outside code blocks, lines joined
	inBlock, fence := false, false
	for _, line := range strings.Split(string(b), "\n") {
		switch {
		case strings.HasPrefix(line, "```"):
			inBlock = !fence && strings.HasPrefix(line, "```sh")
			fence = !fence
		case inBlock:
			if i := strings.Index(line, "  #"); i >= 0 {
				line = line[:i] // a trailing comment
			}
			if line = strings.TrimSpace(line); line != "" && !strings.HasPrefix(line, "#") {
				out = append(out, line)
			}
		case !fence:
			prose.WriteString(line + " ")
		}
	}
	// Inline code may wrap across lines.
	for _, m := range regexp.MustCompile("`([^`]+)`").FindAllStringSubmatch(prose.String(), -1) {
		if regexp.MustCompile(`^([A-Z_]+=\S+ )*(go (run|test|build)|\./build\.sh|\./test\.sh)\b`).MatchString(m[1]) {
			out = append(out, strings.Join(strings.Fields(m[1]), " "))
		}
	}
	return out
}

// TestREADMECommands checks each command: the scripts exist and are
// executable; `go run ./X …` builds, answers -h with its usage, and knows
// every flag the README passes it; `go test ./X …` names packages that
// exist and -run/-bench patterns that match a test or benchmark in them.
func TestREADMECommands(t *testing.T) {
	cmds := commands(t)
	if len(cmds) < 10 {
		t.Fatalf("found only %d commands in README.md", len(cmds))
	}
	bins := map[string]string{} // package → built binary
	helps := map[string]string{}
	for _, c := range cmds {
		for _, part := range strings.Split(c, "&&") {
			fields := strings.Fields(part)
			for len(fields) > 0 && regexp.MustCompile(`^[A-Z_]+=`).MatchString(fields[0]) {
				fields = fields[1:] // environment assignments
			}
			if len(fields) == 0 {
				continue
			}
			switch {
			case fields[0] == "./build.sh" || fields[0] == "./test.sh":
				st, err := os.Stat(filepath.Join(root, fields[0]))
				if err != nil || st.Mode()&0o111 == 0 {
					t.Errorf("%q: %s is missing or not executable", c, fields[0])
				}
				if len(fields) > 1 && fields[0] == "./build.sh" && fields[1] != "serve" {
					t.Errorf("%q: build.sh knows no %q", c, fields[1])
				}
			case len(fields) >= 3 && fields[0] == "go" && fields[1] == "run":
				pkg := fields[2]
				if _, ok := bins[pkg]; !ok {
					bin := filepath.Join(t.TempDir(), "cmd")
					build := exec.Command("go", "build", "-o", bin, pkg)
					build.Dir = root
					if out, err := build.CombinedOutput(); err != nil {
						t.Errorf("%q: go build %s: %v\n%s", c, pkg, err, out)
						bins[pkg] = ""
						continue
					}
					help := exec.Command(bin, "-h")
					help.Dir = root
					out, err := help.CombinedOutput()
					if err != nil || !bytes.Contains(out, []byte("Usage: go run "+pkg)) {
						t.Errorf("%q: %s -h exited with %v and printed %q; want its usage naming go run %s", c, pkg, err, firstLine(out), pkg)
					}
					bins[pkg], helps[pkg] = bin, string(out)
				}
				for _, arg := range fields[3:] {
					if name, ok := strings.CutPrefix(arg, "-"); ok && name != "h" {
						name, _, _ = strings.Cut(name, "=")
						if !strings.Contains(helps[pkg], "  -"+name+" ") && !strings.Contains(helps[pkg], "  -"+name+"\n") {
							t.Errorf("%q: %s has no flag -%s", c, pkg, name)
						}
					}
				}
			case len(fields) >= 3 && fields[0] == "go" && fields[1] == "build":
				list := exec.Command("go", append([]string{"list"}, fields[2:]...)...)
				list.Dir = root
				if out, err := list.CombinedOutput(); err != nil {
					t.Errorf("%q: go list: %v\n%s", c, err, out)
				}
			case len(fields) >= 3 && fields[0] == "go" && fields[1] == "test":
				checkGoTest(t, c, fields[2:])
			case fields[0] == "export" && strings.Contains(part, "$(go env GOROOT)/lib/wasm"):
				goroot, err := exec.Command("go", "env", "GOROOT").Output()
				if _, serr := os.Stat(filepath.Join(strings.TrimSpace(string(goroot)), "lib", "wasm", "go_js_wasm_exec")); err != nil || serr != nil {
					t.Errorf("%q: no go_js_wasm_exec in $(go env GOROOT)/lib/wasm", c)
				}
			case fields[0] == "python3" || strings.HasPrefix(fields[0], "~/"):
				t.Logf("not checked (outside the project): %q", c)
			default:
				t.Errorf("README command %q: this test does not know how to check it; teach it", c)
			}
		}
	}
	t.Logf("checked %d README commands", len(cmds))
}

// checkGoTest checks `go test` arguments: packages exist, and -run and
// -bench patterns (other than X, which runs nothing) match a function.
func checkGoTest(t *testing.T, c string, args []string) {
	var pkgs []string
	patterns := map[string]string{}
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case strings.HasPrefix(a, "./"):
			pkgs = append(pkgs, a)
		case (a == "-run" || a == "-bench") && i+1 < len(args):
			patterns[a] = strings.Trim(args[i+1], `'"`)
			i++
		case a == "-timeout" || a == "-benchtime" || a == "-count" || a == "-cpuprofile":
			i++
		}
	}
	if len(pkgs) == 0 {
		t.Errorf("%q: no package", c)
		return
	}
	var src strings.Builder
	for _, p := range pkgs {
		files, _ := filepath.Glob(filepath.Join(root, strings.TrimSuffix(p, "/..."), "*_test.go"))
		if len(files) == 0 && !strings.HasSuffix(p, "/...") {
			t.Errorf("%q: %s has no tests", c, p)
		}
		for _, f := range files {
			b, _ := os.ReadFile(f)
			src.Write(b)
		}
	}
	for flag, pat := range patterns {
		if pat == "X" || strings.HasSuffix(pkgs[0], "/...") {
			continue
		}
		kind := map[string]string{"-run": "(Test|Fuzz|Example)", "-bench": "Benchmark"}[flag]
		first := strings.Split(strings.Split(pat, "/")[0], "|")
		for _, p := range first {
			re := regexp.MustCompile(`func ` + kind + `\w*` + regexp.QuoteMeta(p) + `\w*\(`)
			if !re.MatchString(src.String()) {
				t.Errorf("%q: %s %s matches no function in %v", c, flag, p, pkgs)
			}
		}
	}
}

func firstLine(b []byte) string {
	s, _, _ := strings.Cut(string(b), "\n")
	return s
}
