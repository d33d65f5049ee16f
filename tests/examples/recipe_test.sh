#!/usr/bin/env bash
# scripts/recipe.sh end to end at a tiny budget on the benchmark (../shared/data/bench): it
# trains, evaluates and writes a test.csv that `tgraph merge` accepts (merge validates IDs and
# permutations). Quality is not asserted here (docs/results.md has the measured recipes).
set -euo pipefail
TG=$1
SRC=$2
D=$(mktemp -d)
trap 'rm -rf "$D"' EXIT
export TGRAPH_BUILD_DIR
TGRAPH_BUILD_DIR=$(dirname "$TG")
export DATA="$SRC/../shared/data/bench/npz"
bash "$SRC/scripts/recipe.sh" layout:xla:random "$D/xr" 6 >"$D/log" 2>&1 || { cat "$D/log"; exit 1; }
[ -f "$D/xr/model.tgm" ] && [ -f "$D/xr/valid.json" ]
head -1 "$D/xr/test.csv" | grep -qx "ID,TopConfigs"
[ "$(tail -n +2 "$D/xr/test.csv" | grep -c '^layout:xla:random:')" -eq \
  "$(ls "$DATA/layout/xla/random/test" | grep -c '\.npz$')" ]
"$TG" merge --out "$D/merged.csv" "$D/xr/test.csv" >/dev/null
# xla:default's recipe is a 2-member ensemble: two runs at half the budget, combined into a
# model file that is neither member.
bash "$SRC/scripts/recipe.sh" layout:xla:default "$D/xd" 6 >"$D/log" 2>&1 || { cat "$D/log"; exit 1; }
grep -q "2 member(s) x 3.000 s" "$D/log"
[ -f "$D/xd/members/seed1/last.tgm" ] && [ -f "$D/xd/members/seed2/last.tgm" ]
for m in 1 2; do
  if cmp -s "$D/xd/model.tgm" "$D/xd/members/seed$m/last.tgm"; then exit 1; fi
done
[ "$(tail -n +2 "$D/xd/test.csv" | grep -c '^layout:xla:default:')" -eq \
  "$(ls "$DATA/layout/xla/default/test" | grep -c '\.npz$')" ]
"$TG" merge --out "$D/merged2.csv" "$D/xr/test.csv" "$D/xd/test.csv" >/dev/null
# An unknown collection is refused before anything is written.
if bash "$SRC/scripts/recipe.sh" layout:xla:nope "$D/bad" 6 >"$D/log2" 2>&1; then exit 1; fi
grep -q "unknown collection" "$D/log2"
[ ! -e "$D/bad" ]
echo "recipe: ok"
