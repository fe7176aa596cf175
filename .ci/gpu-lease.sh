#!/usr/bin/env bash
# One short GPU lease put to use: the CUDA checks (.ci/gpu-check.sh run),
# then a training run that anneals and writes its checkpoint before a
# deadline. Run from the repository root on the GPU machine, with .gpu/ built
# by `.ci/gpu-check.sh build`:
#
#   OUT=out DEADLINE=540 .ci/gpu-lease.sh
#
# The run trains at a constant rate for 3/4 of the time left, stops (SIGINT:
# a checkpoint), measures its steps/s from log.jsonl, and resumes with a
# cosine to 0 at the step that rate reaches by the deadline. Into $OUT:
# check.log, train.log, and the run's weights, checkpoint, log and last grid.
# Settings (environment): DEADLINE seconds from the start (540), CHECK=0 to
# skip the checks, C and BATCH (32, 128), INIT a weights file to start from
# (-init, a path from the repository root; default: from scratch), FLAGS more
# trainer flags (-warmup 500 -min-snr 5). C and FLAGS must describe INIT's
# network (-groups, -mults), since the resume checks them against the
# checkpoint. Where the GPU cannot be opened the run trains on the CPU.
set -uo pipefail
cd "$(dirname "$0")/.."
start=$(date +%s)
el() { echo $(($(date +%s) - start)); }
OUT=$(mkdir -p "${OUT:-gpu-out}" && cd "${OUT:-gpu-out}" && pwd)
DEADLINE=${DEADLINE:-540}
RUN=${RUN:-/tmp/ddpm-lease}
export VIRTUAL_ENV=${VIRTUAL_ENV:-/opt/torch/.venv} # where the CUDA image keeps the pip CUDA libraries

if [ "${CHECK:-1}" = 1 ]; then
  STEPS=400 timeout 200 .ci/gpu-check.sh run >"$OUT/check.log" 2>&1
  echo "gpu-lease: checks rc=$? at $(el)s" | tee -a "$OUT/check.log"
fi

[ -n "${INIT:-}" ] && INIT=$(realpath "$INIT")
cd .gpu
read -r -a flags <<<"${FLAGS:--warmup 500 -min-snr 5}"
args=(-data mnist -out "$RUN" -channels "${C:-32}" -batch "${BATCH:-128}" -sample-every 0
  -checkpoint-every 2000 -eval-every 2000 -max-memory 60 "${flags[@]}")
train() { # seconds, flags...
  local s=$1
  shift
  echo "gpu-lease: ./train $* (${s}s) at $(el)s" >>"$OUT/train.log"
  timeout -s INT -k 20 "$s" ./train "$@" >>"$OUT/train.log" 2>&1
}
first=(-steps 10000000)
[ -n "${INIT:-}" ] && first+=(-init "$INIT")
rm -rf "$RUN"
t0=$(el)
train $(((DEADLINE - t0 - 30) * 3 / 4)) -backend cuda "${args[@]}" "${first[@]}"
backend=cuda
if [ ! -s "$RUN/log.jsonl" ] && [ $(($(el) - t0)) -lt 60 ]; then
  backend=cpu # the GPU did not open (train.log says why)
  rm -rf "$RUN"
  train $(((DEADLINE - $(el) - 60) * 3 / 4)) -backend cpu "${args[@]}" "${first[@]}"
fi
left=$((DEADLINE - $(el) - 30))
read -r step total < <(python3 - "$RUN/log.jsonl" "$left" <<'EOF'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
a, b = rows[len(rows) // 3], rows[-1]
rate = (b["step"] - a["step"]) / max(b["elapsed_s"] - a["elapsed_s"], 1e-9)
print(b["step"], int(b["step"] + rate * max(float(sys.argv[2]) - 12, 0)))
EOF
)
train "$left" -backend $backend "${args[@]}" -resume -steps "$total" -decay-from "$step"
echo "gpu-lease: done at $(el)s" >>"$OUT/train.log"
cp "$RUN/weights.safetensors" "$RUN/checkpoint.safetensors" "$RUN/log.jsonl" "$OUT/"
cp "$(ls "$RUN"/samples/*.png | tail -n 1)" "$OUT/grid.png"
