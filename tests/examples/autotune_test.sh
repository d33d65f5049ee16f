#!/usr/bin/env bash
# The autotuner example on tiny synthetic data: a model trained for a few steps, then prepare once,
# score candidates, "measure" the top ones with the generator's cost model, update, repeat.
# Checks the loop runs to the end and reports both searches; quality is not asserted here.
set -euo pipefail
TG=$1
AUTOTUNE=$2
D=$(mktemp -d)
trap 'rm -rf "$D"' EXIT
"$TG" synth --out "$D/syn" --preset tiny --seed 5 >/dev/null
"$TG" train --data "$D/syn/npz" --collection layout:xla:random --model tgraph-cpu --hidden 16 \
  --steps 10 --threads 1 --no-progress --out "$D/run" >/dev/null 2>&1
out=$("$AUTOTUNE" "$D/run/best.tgm" --candidates 500 --measure 8 --rounds 3 --nodes 200 --seed 2)
echo "$out"
grep -q "^round 3: measured 24," <<<"$out"
grep -q "^model-guided, 24 measurements: best" <<<"$out"
grep -q "^random search, 24 measurements: best" <<<"$out"
