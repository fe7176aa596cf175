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

	"github.com/ddpm-go/ddpm/internal/cli"
)

func main() {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	dir := fs.String("dir", "web", "folder to serve")
	addr := fs.String("addr", "localhost:8080", "address to listen on")
	cli.Usage(fs, "go run ./cmd/serve [flags]",
		"Serves the built page (./build.sh) over HTTP.")
	cli.Parse(fs, os.Args[1:])
	cli.Exit("serve", serve(*dir, *addr))
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
