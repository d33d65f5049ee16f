#!/usr/bin/env bash
# Reproduces docs/results.md (tile part): the tile model (late fusion, hidden 64 on CPU) and the
# early-join GraphSAGE baseline on tile:xla of ../shared/data/bench, several seeds, a fixed
# wall-clock budget per run, two 1-thread runs in parallel; plus the "pick the file's first rows"
# heuristic. Then one submission for all five collections with the best models of
# scripts/layout_results.sh (LAYOUT_RUNS) and of this script.
#
#   scripts/tile_results.sh [OUT_DIR]     (env: BUDGET, SEEDS, LANES, LAYOUT_RUNS)
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${1:-runs/tile}
DATA=${DATA:-../shared/data/bench/npz}
BUDGET=${BUDGET:-240}
SEEDS=${SEEDS:-"1 2"}
LANES=${LANES:-2}
LAYOUT_RUNS=${LAYOUT_RUNS:-runs/layout}
TG=${TG:-./build/tgraph}
mkdir -p "$OUT"
jobs_file=$(mktemp)
for m in tile tile-baseline; do
  for s in $SEEDS; do
    d="$OUT/$m/seed$s"
    [ -f "$d/summary.json" ] && continue
    mkdir -p "$OUT/$m"
    echo "$TG train --data $DATA --collection tile:xla --model $m --hidden 64 --seed $s --threads 1 --time-budget $BUDGET --out $d --no-progress > $d.log 2>&1 || echo FAILED $d" >> "$jobs_file"
  done
done
xargs -P "$LANES" -I{} bash -c "{}" < "$jobs_file"
rm -f "$jobs_file"
$TG evaluate --heuristic row0 --data "$DATA" --json "$OUT/row0.valid.json"
best_of() {  # dir key -> run dir with the highest value
  for f in "$1"/seed*/summary.json; do
    printf '%s %s\n' "$(jq -r ".$2" "$f")" "$(dirname "$f")"
  done | sort -g | tail -1 | cut -d' ' -f2
}
for m in tile tile-baseline; do
  for f in "$OUT/$m"/seed*/; do
    $TG evaluate --model "$f/best.tgm" --data "$DATA" --threads 2 --json "$f/valid.json" > /dev/null
  done
done
models=(--model "$(best_of "$OUT/tile" best_score)/best.tgm")
for c in layout_xla_random layout_xla_default layout_nlp_random layout_nlp_default; do
  models+=(--model "$(best_of "$LAYOUT_RUNS/$c/tgraph-cpu" best_tau)/best.tgm")
done
$TG predict --all "${models[@]}" --data "$DATA" --cache "$LAYOUT_RUNS/cache" --threads 2 \
  --out "$OUT/../submission.csv"
echo "| model | seeds | valid tile score (mean, min..max) | top-1 err | top-5 err | top-10 err |"
echo "|---|---|---|---|---|---|"
for m in tile tile-baseline; do
  jq -s -r --arg m "$m" '
    (map(.mean_score)) as $s |
    "| \($m) | \(length) | **\(($s|add/length)*10000|round/10000)** (\($s|min*10000|round/10000)..\($s|max*10000|round/10000)) | \((map(.mean_err1)|add/length)*10000|round/10000) | \((map(.mean_err5)|add/length)*10000|round/10000) | \((map(.mean_err10)|add/length)*10000|round/10000) |"' \
    "$OUT/$m"/seed*/valid.json
done
jq -r '"| row 0 first (file order) | - | **\(.mean_score*10000|round/10000)** | \(.mean_err1*10000|round/10000) | \(.mean_err5*10000|round/10000) | \(.mean_err10*10000|round/10000) |"' "$OUT/row0.valid.json"
