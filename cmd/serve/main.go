// Command serve serves a folder over HTTP on localhost, for trying the
// browser demo: go run ./cmd/serve -dir web (./build.sh serve does this).
package main

import (
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
)

func main() {
	fs := flag.NewFlagSet("serve", flag.ExitOnError)
	dir := fs.String("dir", "web", "folder to serve")
	addr := fs.String("addr", "localhost:8080", "address to listen on")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: go run ./cmd/serve [flags]\n\nServes the built page (./build.sh) over HTTP.\n\nFlags:\n")
		fs.PrintDefaults()
	}
	fs.Parse(os.Args[1:])
	if fs.NArg() > 0 {
		fmt.Fprintf(os.Stderr, "serve: unexpected argument %q (flags start with -)\n", fs.Arg(0))
		os.Exit(2)
	}
	if err := serve(*dir, *addr); err != nil {
		fmt.Fprintln(os.Stderr, "serve:", err)
		os.Exit(1)
	}
}

func serve(dir, addr string) error {
	if st, err := os.Stat(dir); err != nil || !st.IsDir() {
		return fmt.Errorf("%s is not a folder (run ./build.sh first)", dir)
	}
	if _, err := os.Stat(filepath.Join(dir, "main.wasm")); err != nil {
		return fmt.Errorf("%s has no main.wasm: run ./build.sh first", dir)
	}
	ln, err := net.Listen("tcp", addr) // before saying where to look
	if err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "serving %s: open http://%s/ in a browser (Ctrl-C stops)\n", dir, addr)
	// http.FileServer sends .wasm as application/wasm, which streaming compilation needs.
	err = http.Serve(ln, http.FileServer(http.Dir(dir)))
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}
