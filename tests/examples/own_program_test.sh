#!/usr/bin/env bash
# The own-program flow end to end (examples/own_program.sh): the real module as a dumped HloProto
# -> featurize -> candidates -> search with a (tiny) trained model, and search straight from the
# dump. Checks the outputs name real instructions and are legal layout files; quality is not
# asserted here (docs/search.md has the measured speed-ups).
set -euo pipefail
TG=$1
SRC=$2
D=$(mktemp -d)
trap 'rm -rf "$D"' EXIT
"$TG" synth --out "$D/syn" --preset tiny --seed 5 >/dev/null 2>&1
"$TG" train --data "$D/syn/npz" --collection layout:xla:random --model tgraph-cpu --hidden 16 \
  --steps 10 --threads 1 --no-progress --out "$D/run" >/dev/null 2>&1
TGRAPH=$TG BUDGET=300 bash "$SRC/examples/own_program.sh" "$D/run/best.tgm" "$D/own" >"$D/log" 2>&1 ||
  { cat "$D/log"; exit 1; }
grep -q "read HloProto (binary)" "$D/log"
J=$(ls "$D"/own/search/*.layouts.json)
grep -q '"evaluations": 300' "$J"
grep -q '"convolution\.' "$J"
[ "$(grep -c '"rank":' "$J")" -eq 10 ]
"$TG" inspect "$D"/own/search/*.npz | grep -q " 10 "
"$TG" inspect "$D/own/candidates.npz" | grep -q " 100 "
# Straight from the dump (featurized on the fly), restricted to the reshapes.
"$TG" search "$D/own/unet3d.hlo.pb" --model "$D/run/best.tgm" --budget-evals 100 --top 3 \
  --opcodes reshape --threads 1 --quiet --out "$D/direct" >"$D/log2"
grep -q "HloProto (binary), module 'main__.10904'" "$D/log2"
J2=$(ls "$D"/direct/*.layouts.json)
! grep -q '"convolution\.' "$J2"
grep -q '"reshape\.' "$J2"
echo "own program flow: ok"
