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
	dir := flag.String("dir", "web", "folder to serve")
	addr := flag.String("addr", "localhost:8080", "address to listen on")
	flag.Parse()
	if st, err := os.Stat(*dir); err != nil || !st.IsDir() {
		fmt.Fprintf(os.Stderr, "serve: %s is not a folder (run ./build.sh first)\n", *dir)
		os.Exit(1)
	}
	fmt.Fprintf(os.Stderr, "serving %s on http://%s/ (Ctrl-C stops)\n", *dir, *addr)
	// http.FileServer sends .wasm as application/wasm, which streaming compilation needs.
	err := http.ListenAndServe(*addr, http.FileServer(http.Dir(*dir)))
	if err != nil && !errors.Is(err, http.ErrServerClosed) {
		fmt.Fprintln(os.Stderr, "serve:", err)
		os.Exit(1)
	}
}
