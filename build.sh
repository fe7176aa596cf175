#!/usr/bin/env bash
# Builds the browser demo into web/ (a static folder that any file server,
# GitHub Pages included, can serve):
#   ./build.sh          compile main.wasm and worker.wasm, copy wasm_exec.js and the weights,
#                       write the test digits (web/digits.png) from MNIST's test set
#   ./build.sh serve    the same, then serve web/ on http://localhost:8080 (PORT to change)
set -euo pipefail
cd "$(dirname "$0")"

GOOS=js GOARCH=wasm go build -trimpath -ldflags="-s -w" -o web/main.wasm ./wasm
GOOS=js GOARCH=wasm go build -trimpath -ldflags="-s -w" -o web/worker.wasm ./wasm/worker
cp "$(go env GOROOT)/lib/wasm/wasm_exec.js" web/wasm_exec.js
mkdir -p web/weights
cp weights/mnist-f16.safetensors web/weights/mnist.safetensors             # full (C=16): the page's default
cp weights/mnist-small-f16.safetensors web/weights/mnist-small.safetensors # small (C=8): ?model=small
go run ./cmd/testdigits -out web/digits.png >/dev/null                   # the digits the page's modes start from
ls -l web/*.wasm web/digits.png web/weights/*.safetensors | awk '{print $5, $9}'

if [ "${1:-}" = serve ]; then
  exec go run ./cmd/serve -dir web -addr "localhost:${PORT:-8080}"
fi
