#!/usr/bin/env bash
# The project's test command: vet, native tests (the browser end-to-end tests
# included, in headless Chromium; the CUDA backend on a CPU emulator of the
# CUDA libraries, and on the GPU when there is one), and the ddpm packages'
# tests compiled to WebAssembly and run under Node.
set -euo pipefail
cd "$(dirname "$0")"
export PATH="$PATH:$(go env GOROOT)/lib/wasm"

go vet ./...
CGO_ENABLED=0 go build ./...
./build.sh        # web/ for the browser tests
go test -count=1 -timeout 30m ./...
CGO_ENABLED=0 go test -count=1 ./ddpm/nn/cuda  # the GPU backend as users build it: purego without cgo
GOOS=js GOARCH=wasm go vet ./ddpm/... ./wasm ./wasm/worker ./wasm/jsfloat
GOOS=js GOARCH=wasm go test -count=1 -timeout 30m ./ddpm/...
