#!/usr/bin/env bash
# One short GPU lease put to use: the CUDA checks (.ci/gpu-check.sh run),
# then a training run that anneals and writes its checkpoint before a
# deadline. Run on the GPU machine with .gpu/ built by
# `.ci/gpu-check.sh build`:
#
#   OUT=out DEADLINE=540 .ci/gpu-lease.sh
#
# DEADLINE counts from the script's start; the checks take up to 200 s of it.
# The run then trains for 3/4 of what is left (less 30 s kept for the end) at
# the recipe's rate, stops (SIGINT: a checkpoint), measures its steps/s in
# log.jsonl, and resumes with a cosine to 0 at the step that rate reaches
# about 40 s before the deadline. The cosine starts at the last logged step,
# up to 49 steps before the checkpoint it resumes. Into $OUT: check.log (with
# the checks), train.log, and the run's weights, checkpoint, log and, when the
# cosine finished, its grid.
#
# Settings (environment; paths relative to the repository root):
#   OUT       output folder (gpu-out)
#   DEADLINE  seconds (540)
#   CHECK=0   skip the checks
#   C, BATCH  width and batch (32, 128)
#   INIT      weights to start from (-init; default: from scratch)
#   FLAGS     trainer flags, replacing the default "-warmup 500 -min-snr 5";
#             with INIT, C and FLAGS must describe its network (-groups,
#             -mults): the resume checks them against the checkpoint
#   RUN       the run folder (/tmp/ddpm-lease)
# The run trains on the CPU when the GPU cannot be opened (train.log says
# why). Exits non-zero when a check or the run failed.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
start=$(date +%s)
el() { echo $(($(date +%s) - start)); }
die() {
  echo "gpu-lease: $*" | tee -a "$OUT/train.log" >&2
  exit 1
}
OUT=$(mkdir -p "${OUT:-gpu-out}" && cd "${OUT:-gpu-out}" && pwd) || exit 1
RUN=$(realpath -m "${RUN:-/tmp/ddpm-lease}")
DEADLINE=${DEADLINE:-540}
if [ -n "${INIT:-}" ]; then
  INIT=$(realpath -e "$INIT") || die "INIT: no such file"
fi
[ -x .gpu/train ] || die "no .gpu/train: run .ci/gpu-check.sh build first"

checks=0
if [ "${CHECK:-1}" = 1 ]; then
  STEPS=400 timeout 200 .ci/gpu-check.sh run >"$OUT/check.log" 2>&1
  checks=$?
  echo "gpu-lease: checks rc=$checks at $(el)s" | tee -a "$OUT/check.log"
fi

cd .gpu || exit 1
read -r -a flags <<<"${FLAGS-"-warmup 500 -min-snr 5"}"
args=(-data mnist -out "$RUN" -channels "${C:-32}" -batch "${BATCH:-128}" -sample-every 0
  -checkpoint-every 2000 -eval-every 2000 -max-memory 60 ${flags[@]+"${flags[@]}"})
train() { # seconds, flags...
  local s=$1
  shift
  [ "$s" -ge 20 ] || die "only ${s}s left for ./train $* at $(el)s of DEADLINE=$DEADLINE"
  echo "gpu-lease: ./train $* (${s}s) at $(el)s" >>"$OUT/train.log"
  timeout -s INT -k 20 "$s" ./train "$@" >>"$OUT/train.log" 2>&1
}
first=(-steps 10000000)
[ -n "${INIT:-}" ] && first+=(-init "$INIT")
rm -rf "$RUN"
backend=cuda
train $(((DEADLINE - $(el) - 30) * 3 / 4)) -backend cuda "${args[@]}" "${first[@]}"
if [ ! -s "$RUN/log.jsonl" ] && grep -q -- '-backend cuda:' "$OUT/train.log"; then
  backend=cpu # the GPU did not open
  rm -rf "$RUN"
  train $(((DEADLINE - $(el) - 60) * 3 / 4)) -backend cpu "${args[@]}" "${first[@]}"
fi
left=$((DEADLINE - $(el) - 30))
plan=$(python3 - "$RUN/log.jsonl" "$left" <<'EOF'
import json, sys
try:
    rows = [json.loads(l) for l in open(sys.argv[1])]
except OSError:
    rows = []
if len(rows) < 2:
    sys.exit("the first phase logged %d rows; too few to measure its rate" % len(rows))
a, b = rows[len(rows) // 3], rows[-1]
rate = (b["step"] - a["step"]) / max(b["elapsed_s"] - a["elapsed_s"], 1e-9)
print(b["step"], int(b["step"] + rate * max(float(sys.argv[2]) - 12, 0)))
EOF
) || die "cannot plan the cosine (train.log says what the first phase did)"
read -r step total <<<"$plan"
[ "$total" -gt "$step" ] || die "no time left for the cosine after step $step"
train "$left" -backend $backend "${args[@]}" -resume -steps "$total" -decay-from "$step"
rc=$?
echo "gpu-lease: done at $(el)s (rc $rc)" >>"$OUT/train.log"
cp "$RUN/weights.safetensors" "$RUN/checkpoint.safetensors" "$RUN/log.jsonl" "$OUT/"
grid=$(ls "$RUN"/samples/*.png 2>/dev/null | tail -n 1)
[ -n "$grid" ] && cp "$grid" "$OUT/grid.png"
[ "$rc" = 0 ] && [ "$checks" = 0 ]
