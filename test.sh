#!/usr/bin/env bash
# The project's test command: vet, native tests (the browser end-to-end tests
# included, in headless Chromium; the CUDA backend on a CPU emulator of the
# CUDA libraries, and on the GPU when there is one), and the ddpm packages'
# tests compiled to WebAssembly and run under Node.
set -euo pipefail
cd "$(dirname "$0")"
export PATH="$PATH:$(go env GOROOT)/lib/wasm"

# Without a browser the end-to-end tests would skip and `go test` would still
# print ok: say so up front instead, unless the caller asked for it.
if [ -z "${CHROME:-}" ] && ! command -v chromium >/dev/null && ! command -v chromium-browser >/dev/null &&
  ! command -v google-chrome >/dev/null && [ -z "${DDPM_SKIP_BROWSER:-}" ]; then
  echo "test.sh: no Chromium found for the browser tests: apt-get install chromium, set CHROME to a Chrome binary, or set DDPM_SKIP_BROWSER=1 to skip them" >&2
  exit 1
fi

go vet ./...
CGO_ENABLED=0 go build ./...
./build.sh        # web/ for the browser tests
go test -count=1 -timeout 30m ./...
CGO_ENABLED=0 go test -count=1 ./ddpm/nn/cuda  # the GPU backend as users build it: purego without cgo
GOOS=js GOARCH=wasm go vet ./ddpm/... ./wasm ./wasm/worker ./wasm/jsfloat
GOOS=js GOARCH=wasm go test -count=1 -timeout 30m ./ddpm/...
