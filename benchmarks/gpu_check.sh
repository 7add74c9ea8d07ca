#!/usr/bin/env bash
# The prepared GPU check (issue 25 item 4), under 8 minutes on one GPU:
#   1. the `full` profile's Glow (32x32x3, L3 K32 h400, batch 64): images/s in fp32 (TF32 off),
#      with bf16 autocast + TF32, and with the compiled loss (TrainConfig.compile), each timed
#      for GPU_CHECK_SECONDS (default 75) after warm-up;
#   2. bf16 vs fp32 BPD on a small Glow trained twice by the engine (agree within 0.02?);
#   3. `torchrun --standalone --nproc_per_node=N` (N = the visible GPUs, NCCL) running the
#      engine's data-parallel training for a few updates.
# Writes a markdown block to OUT_DIR/gpu_check.md (default: $OUT if set, else build/gpu_check)
# and prints it. Each part has its own time limit, so one slow part cannot take the whole budget.
#
#   benchmarks/gpu_check.sh [--tiny] [OUT_DIR]
#
# --tiny (or GPU_CHECK_TINY=1): toy sizes, 1 s windows, on whatever device there is (a CPU:
# gloo instead of NCCL, 2 processes), which tests/test_gpu_check.py runs so the script is known
# to work. PYTHON picks the interpreter (default: .venv/bin/python, else python).
set -euo pipefail
cd "$(dirname "$0")/.."

TINY=${GPU_CHECK_TINY:-0}
if [[ "${1:-}" == "--tiny" ]]; then TINY=1; shift; fi
OUT_DIR=${1:-${OUT:-build/gpu_check}}
if [[ -x .venv/bin/python ]]; then DEFAULT_PYTHON=.venv/bin/python; else DEFAULT_PYTHON=python; fi
PYTHON=${PYTHON:-$DEFAULT_PYTHON}
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
mkdir -p "$OUT_DIR"
RESULT="$OUT_DIR/gpu_check.md"
WORKDIR=$(mktemp -d)
trap 'rm -rf "$WORKDIR"' EXIT

if [[ "$TINY" == 1 ]]; then
  SIZE=(--tiny); SECONDS_PER_MODE=${GPU_CHECK_SECONDS:-1}; LIMIT_THROUGHPUT=300; LIMIT_BF16=300; LIMIT_DDP=300  # a busy CPU
else
  SIZE=(); SECONDS_PER_MODE=${GPU_CHECK_SECONDS:-75}; LIMIT_THROUGHPUT=330; LIMIT_BF16=60; LIMIT_DDP=60
fi

NPROC=$("$PYTHON" -c "import torch; print(torch.cuda.device_count())")
DDP_FLAGS=()
if [[ "$NPROC" == 0 ]]; then NPROC=2; DDP_FLAGS=(--cpu); fi

{
  echo "### GPU check ($(date -u +%Y-%m-%d\ %H:%M) UTC, commit $(git rev-parse --short HEAD 2>/dev/null || echo unknown)$([[ "$TINY" == 1 ]] && echo ', TINY sizes: a smoke run, not a measurement'))"
  echo
  "$PYTHON" -c "import torch; print('torch', torch.__version__, '| CUDA', torch.version.cuda, '| devices:', ', '.join(torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())) or 'none (CPU)')"
  echo
} > "$RESULT"

run_part() {  # run_part NAME LIMIT_S COMMAND...: run with a time limit; a failure or timeout becomes a line of the result
  local name=$1 limit=$2; shift 2
  local start=$SECONDS status=0
  echo "== $name (limit ${limit} s)" >&2
  timeout --signal=TERM --kill-after=10 "$limit" "$@" || status=$?
  if [[ $status != 0 ]]; then
    local why="failed (exit $status)"; [[ $status == 124 ]] && why="timed out after ${limit} s"
    printf '%s: **%s**.\n\n' "$name" "$why" >> "$RESULT"
  fi
  printf '(%s: %d s wall.)\n\n' "$name" $((SECONDS - start)) >> "$RESULT"
}

run_part "throughput" "$LIMIT_THROUGHPUT" \
  "$PYTHON" benchmarks/gpu_check.py throughput "${SIZE[@]}" --seconds "$SECONDS_PER_MODE" --out "$RESULT"
run_part "bf16 agreement" "$LIMIT_BF16" "$PYTHON" benchmarks/gpu_check.py bf16 "${SIZE[@]}" --out "$RESULT"
run_part "torchrun" "$LIMIT_DDP" \
  "$PYTHON" -m torch.distributed.run --standalone --nproc_per_node="$NPROC" \
  benchmarks/gpu_check.py ddp "${SIZE[@]}" "${DDP_FLAGS[@]}" --workdir "$WORKDIR" --out "$RESULT"

echo "== result: $RESULT" >&2
cat "$RESULT"
