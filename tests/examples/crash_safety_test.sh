#!/usr/bin/env bash
# Crash safety of training: a run SIGKILLed several times at random points (with a checkpoint every
# 2 steps, many kills land inside checkpoint writes) and resumed each time must finish with
# loadable files, resume from its last checkpoint (no more than one interval lost), and end with
# exactly the parameters of the same run left alone (same seed, one thread). With a weight average
# (--ema) on, so its checkpoint file is written (and killed) too.
set -euo pipefail
TG=$1
D=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$D"' EXIT
fail() { echo "FAILED: $*"; exit 1; }
checksum() { /usr/bin/python3 -c 'import json,sys; t=sys.stdin.read(); print(json.loads(t[t.index("{"):])["param_checksum"])'; }
state_step() { /usr/bin/python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["trainer"]["step"])' "$1"; }

"$TG" synth --out "$D/syn" --preset tiny --seed 8 > /dev/null 2>&1
ARGS=(train --data "$D/syn/npz" --collection layout:xla:random --model tgraph --hidden 16
      --steps 120 --eval-every-steps 2 --ema 0.9 --threads 1 --seed 5 --no-progress --cache "$D/cache")
"$TG" "${ARGS[@]}" --out "$D/clean" > "$D/clean.json" 2> /dev/null
want=$(checksum < "$D/clean.json")

kills=0
last=-1
for i in 1 2 3 4 5 6; do
  "$TG" "${ARGS[@]}" --out "$D/run" --resume > /dev/null 2> "$D/run$i.err" &
  pid=$!
  # Kill at a random point after this run has made progress of its own (a checkpoint newer than
  # the one it resumed from), not at a fixed time since launch: on a loaded machine start-up alone
  # can outlast a fixed delay, and then no run ever checkpoints.
  for _ in $(seq 1200); do
    kill -0 "$pid" 2> /dev/null || break
    now=$(state_step "$D/run/checkpoint/state.json" 2> /dev/null || echo -1)
    [ "$now" -gt "$last" ] && break
    sleep 0.05
  done
  # 0 .. 0.4 s more: somewhere in training or in a checkpoint write (one every 2 steps).
  sleep "$(/usr/bin/python3 -c "import random; random.seed($i); print(round(random.uniform(0, 0.4), 2))")"
  if kill -9 "$pid" 2> /dev/null; then kills=$((kills + 1)); fi
  wait "$pid" 2> /dev/null || true
  if [ -f "$D/run/checkpoint/state.json" ]; then
    s=$(state_step "$D/run/checkpoint/state.json") || fail "state.json unreadable after kill $i"
    m=$(/usr/bin/python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["model"])' "$D/run/checkpoint/state.json")
    "$TG" info "$D/run/checkpoint/$m" > /dev/null || fail "checkpoint model unloadable after kill $i"
    echo "kill $i: checkpoint at step $s"
    last=$s
  fi
done
[ "$kills" -ge 3 ] || fail "only $kills runs were still alive to be killed"
before=$(state_step "$D/run/checkpoint/state.json")
"$TG" "${ARGS[@]}" --out "$D/run" --resume > "$D/final.json" 2> "$D/final.err" || { cat "$D/final.err"; fail "final resume"; }
grep -q "resumed at step $before" "$D/final.err" || fail "did not resume from the last checkpoint ($before)"
got=$(checksum < "$D/final.json")
echo "uninterrupted $want, killed $kills times and resumed $got"
[ "$got" = "$want" ] || fail "an interrupted run ended with other parameters"
"$TG" info "$D/run/best.tgm" > /dev/null && "$TG" info "$D/run/last.tgm" > /dev/null || fail "final files"
leftover=$(find "$D/run" -name '*.tmp.*' | wc -l)
[ "$leftover" -eq 0 ] || fail "$leftover temporary files left behind"
echo "crash safety: all checks passed"
