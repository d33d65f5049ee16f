#!/usr/bin/env bash
# Starts N local `tgraph train` processes for a quick data-parallel try (c10d, Gloo over 127.0.0.1):
#   scripts/train_distributed.sh N --data NPZ --collection C --model M --time-budget S --out RUN
# This is only a convenience around the standard variables (RANK, WORLD_SIZE, LOCAL_RANK,
# MASTER_ADDR, MASTER_PORT); on a cluster use torchrun --no-python or srun (README). Rank 0's output
# is shown; the other ranks' goes to RUN/rank<i>.log. Exits non-zero if any rank fails.
set -euo pipefail
if [ $# -lt 2 ]; then
  echo "usage: $0 N TRAIN_ARGS..." >&2
  exit 2
fi
N=$1
shift
TG=${TGRAPH_BIN:-${TGRAPH_BUILD_DIR:-$(dirname "$0")/../build}/tgraph}
out=""
threads=""
args=("$@")
for ((i = 0; i < ${#args[@]}; i++)); do
  [ "${args[$i]}" = "--out" ] && out=${args[$((i + 1))]:-}
  [ "${args[$i]}" = "--threads" ] && threads=${args[$((i + 1))]:-}
done
# The machine's cores shared between the ranks unless --threads says otherwise (N processes each
# using every core would oversubscribe: measured 132 against ~700 configurations/s per rank).
if [ -z "$threads" ]; then
  threads=$(( $(nproc) / N ))
  [ "$threads" -ge 1 ] || threads=1
  set -- "$@" --threads "$threads"
fi
[ -n "$out" ] || { echo "$0: --out RUN is required" >&2; exit 2; }
mkdir -p "$out"
# A free port: bind to 0 and read what the kernel gave.
port=${MASTER_PORT:-$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')}
pids=()
for ((r = N - 1; r >= 0; r--)); do
  if [ "$r" -eq 0 ]; then
    RANK=0 WORLD_SIZE=$N LOCAL_RANK=0 MASTER_ADDR=127.0.0.1 MASTER_PORT=$port "$TG" train "$@" &
  else
    RANK=$r WORLD_SIZE=$N LOCAL_RANK=$r MASTER_ADDR=127.0.0.1 MASTER_PORT=$port \
      "$TG" train "$@" --no-progress > "$out/rank$r.log" 2>&1 &
  fi
  pids+=($!)
done
status=0
for p in "${pids[@]}"; do
  wait "$p" || status=1
done
exit $status
