#!/usr/bin/env bash
# Data-parallel training on c10d/Gloo over 127.0.0.1, as CI runs it (2 processes on 2 cores):
#  1. collectives: all-reduced gradient == mean of the per-rank gradients; broadcast from rank 0;
#  2. a 2-process training run: identical parameters on both ranks, one set of model files;
#  3. same seed and world size => same model;
#  4. a rank killed mid-run: the other exits with an error within seconds (no hang);
#  5. --resume after that failure finishes from the last checkpoint, ranks in sync.
set -euo pipefail
TG=$1
PROBE=$2
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
D=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$D"' EXIT
free_port() { /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
fail() { echo "FAILED: $*"; exit 1; }
checksum() { /usr/bin/python3 -c 'import json,sys; t=sys.stdin.read(); print(json.loads(t[t.index("{"):])["param_checksum"])'; }

echo "== 1. collectives"
port=$(free_port)
for r in 0 1; do
  RANK=$r WORLD_SIZE=2 MASTER_ADDR=127.0.0.1 MASTER_PORT=$port "$PROBE" > "$D/probe$r.txt" 2>&1 &
done
wait
cat "$D"/probe*.txt
grep -q "rank 0: ok" "$D/probe0.txt" && grep -q "rank 1: ok" "$D/probe1.txt" || fail "collectives"

echo "== 2. two-process training"
"$TG" synth --out "$D/syn" --preset tiny --seed 7 > /dev/null 2>&1
ARGS=(--data "$D/syn/npz" --collection layout:xla:random --model tgraph-cpu --hidden 16 --threads 1
      --seed 4 --no-progress --cache "$D/cache")
TGRAPH_BIN=$TG bash "$ROOT/scripts/train_distributed.sh" 2 "${ARGS[@]}" --steps 30 \
  --eval-every-steps 10 --out "$D/a" > "$D/a.out" 2> "$D/a.err" || { cat "$D/a.err" "$D/a/rank1.log"; fail "training"; }
c0=$(checksum < "$D/a.out")
c1=$(checksum < "$D/a/rank1.log")
echo "rank 0 $c0, rank 1 $c1"
[ "$c0" = "$c1" ] || fail "ranks ended with different parameters"
[ -f "$D/a/best.tgm" ] && [ -f "$D/a/last.tgm" ] && [ -f "$D/a/log.jsonl" ] || fail "model files"
[ "$(grep -c '"step"' "$D/a/log.jsonl")" -eq 3 ] || fail "one log line per evaluation, rank 0 only"
"$TG" evaluate --model "$D/a/best.tgm" --data "$D/syn/npz" --cache "$D/cache" --threads 1 | tail -1

echo "== 3. same seed and world size, same model"
TGRAPH_BIN=$TG bash "$ROOT/scripts/train_distributed.sh" 2 "${ARGS[@]}" --steps 30 \
  --eval-every-steps 10 --out "$D/b" > "$D/b.out" 2> /dev/null || fail "second training"
[ "$(checksum < "$D/b.out")" = "$c0" ] || fail "a rerun gave another model"

echo "== 4. a killed rank ends the other with an error"
port=$(free_port)
for r in 0 1; do
  RANK=$r WORLD_SIZE=2 MASTER_ADDR=127.0.0.1 MASTER_PORT=$port "$TG" train "${ARGS[@]}" --steps 100000 \
    --eval-every-steps 50 --out "$D/k" > "$D/k$r.out" 2>&1 &
  eval "pid$r=$!"
done
for _ in $(seq 100); do [ -f "$D/k/checkpoint/state.json" ] && break; sleep 0.2; done
[ -f "$D/k/checkpoint/state.json" ] || fail "no checkpoint before the kill"
kill -9 "$pid1"
start=$(date +%s)
set +e
timeout 60 bash -c "while kill -0 $pid0 2>/dev/null; do sleep 0.1; done"
set -e
wait "$pid0" && fail "rank 0 succeeded after its peer died" || true
took=$(( $(date +%s) - start ))
tail -1 "$D/k0.out"
grep -q "tgraph: error: distributed (rank 0)" "$D/k0.out" || fail "no clear error"
echo "rank 0 stopped ${took} s after rank 1 was killed"

echo "== 5. resume after the failure"
step=$(/usr/bin/python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["trainer"]["step"])' "$D/k/checkpoint/state.json")
TGRAPH_BIN=$TG bash "$ROOT/scripts/train_distributed.sh" 2 "${ARGS[@]}" --steps $((step + 20)) \
  --eval-every-steps 50 --resume --out "$D/k" > "$D/r.out" 2> "$D/r.err" || { cat "$D/r.err"; fail "resume"; }
grep -q "resumed at step $step" "$D/r.err" || fail "did not resume from step $step"
[ "$(checksum < "$D/r.out")" = "$(checksum < "$D/k/rank1.log")" ] || fail "ranks out of sync after resume"
echo "distributed: all checks passed"
