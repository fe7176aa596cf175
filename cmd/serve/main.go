// Command serve serves a folder over HTTP on localhost, for trying the
// browser demo: go run ./cmd/serve -dir web (./build.sh serve does this).
package main

import (
	"errors"
	"flag"
	"fmt"
	"net/http"
	"os"
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
	if st, err := os.Stat(*dir); err != nil || !st.IsDir() {
		fmt.Fprintf(os.Stderr, "serve: %s is not a folder (run ./build.sh first)\n", *dir)
		os.Exit(1)
	}
	fmt.Fprintf(os.Stderr, "serving %s: open http://%s/ in a browser (Ctrl-C stops)\n", *dir, *addr)
	// http.FileServer sends .wasm as application/wasm, which streaming compilation needs.
	err := http.ListenAndServe(*addr, http.FileServer(http.Dir(*dir)))
	if err != nil && !errors.Is(err, http.ErrServerClosed) {
		fmt.Fprintln(os.Stderr, "serve:", err)
		os.Exit(1)
	}
}
