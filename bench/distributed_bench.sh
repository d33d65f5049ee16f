#!/usr/bin/env bash
# Data-parallel scaling on this machine: the same training (fixed step count, one thread per
# process) on 1 process and on N processes (scripts/train_distributed.sh), reporting graphs per
# second, the time per step spent in c10d collectives and the scaling efficiency. On a 2-core
# machine this is about correctness and overhead, not speed-ups to expect on a cluster.
#   bash bench/distributed_bench.sh [N=2] [STEPS=300] [DATA=../shared/data/bench/npz]
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-2}
STEPS=${2:-300}
DATA=${3:-../shared/data/bench/npz}
TG=${TGRAPH_BUILD_DIR:-build}/tgraph
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT
ARGS=(--data "$DATA" --collection layout:xla:random --model tgraph-cpu --threads 1 --seed 1
      --no-progress --eval-every-steps 1000000 --max-valid-graphs 1 --cache "$OUT/cache")
"$TG" pack --data "$DATA" --collection layout:xla:random --split all --out "$OUT/cache" > /dev/null
field() { /usr/bin/python3 -c 'import json,sys; t=open(sys.argv[1]).read(); print(json.loads(t[t.index("{"):])[sys.argv[2]])' "$@"; }
"$TG" train "${ARGS[@]}" --steps "$STEPS" --out "$OUT/one" > "$OUT/one.json" 2> /dev/null
TGRAPH_BIN=$TG bash scripts/train_distributed.sh "$N" "${ARGS[@]}" --steps "$STEPS" \
  --out "$OUT/many" > "$OUT/many.json" 2> /dev/null
s1=$(field "$OUT/one.json" seconds)
sn=$(field "$OUT/many.json" seconds)
cn=$(field "$OUT/many.json" comm_seconds)
/usr/bin/python3 - "$N" "$STEPS" "$s1" "$sn" "$cn" <<'PY'
import sys
n, steps, s1, sn, cn = int(sys.argv[1]), int(sys.argv[2]), *map(float, sys.argv[3:])
g1, gn = steps / s1, n * steps / sn
print(f"1 process : {steps} steps in {s1:.1f} s = {g1:.1f} graphs/s")
print(f"{n} processes: {steps} steps in {sn:.1f} s = {gn:.1f} graphs/s "
      f"(communication {1000 * cn / steps:.2f} ms per step, {100 * cn / sn:.1f} % of the run)")
print(f"scaling: {gn / g1:.2f}x with {n} processes, efficiency {100 * gn / (n * g1):.0f} %")
PY
