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
# An unknown collection is refused before anything is written.
if bash "$SRC/scripts/recipe.sh" layout:xla:nope "$D/bad" 6 >"$D/log2" 2>&1; then exit 1; fi
grep -q "unknown collection" "$D/log2"
[ ! -e "$D/bad" ]
echo "recipe: ok"
