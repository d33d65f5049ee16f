#!/usr/bin/env bash
# Reproduces docs/results.md (layout part): trains TGraph (CPU preset) and the baseline on each of
# the four layout collections of ../shared/data/bench with a fixed wall-clock budget per run and
# several seeds, evaluates, and predicts the test split with the best TGraph run per collection.
#
#   scripts/layout_results.sh [OUT_DIR]      (env: BUDGET seconds per run, SEEDS, LANES, MODELS)
#
# LANES runs go in parallel with one thread each (on 2 cores, two 1-thread runs do more work than
# one 2-thread run: no OpenMP synchronisation). Each run's record: OUT/<collection>/<model>/seed<N>/.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${1:-runs/layout}
DATA=${DATA:-../shared/data/bench/npz}
BUDGET=${BUDGET:-300}
SEEDS=${SEEDS:-"1 2"}
LANES=${LANES:-2}
MODELS=${MODELS:-"tgraph-cpu baseline"}
COLLECTIONS=${COLLECTIONS:-"layout:xla:random layout:xla:default layout:nlp:random layout:nlp:default"}
TG=${TG:-./build/tgraph}
mkdir -p "$OUT"

jobs_file=$(mktemp)
for c in $COLLECTIONS; do
  for m in $MODELS; do
    for s in $SEEDS; do
      d="$OUT/${c//:/_}/$m/seed$s"
      [ -f "$d/summary.json" ] && continue
      echo "$TG train --data $DATA --collection $c --model $m --seed $s --threads 1 --time-budget $BUDGET --cache $OUT/cache --out $d --no-progress > $d.log 2>&1 || echo FAILED $d" >> "$jobs_file"
      mkdir -p "$(dirname "$d")"
    done
  done
done
# Pack every collection once before the parallel runs share the cache.
for c in $COLLECTIONS; do
  $TG pack --data "$DATA" --collection "$c" --split all --out "$OUT/cache" > /dev/null
done
xargs -P "$LANES" -I{} bash -c "{}" < "$jobs_file"
rm -f "$jobs_file"

# Test-split predictions from the best-validation TGraph seed of each collection, merged.
csvs=()
for c in $COLLECTIONS; do
  best=$(for f in "$OUT/${c//:/_}"/tgraph-cpu/seed*/summary.json; do
           printf '%s %s\n' "$(sed -n 's/.*"best_tau": \([-0-9.e]*\).*/\1/p' "$f")" "$(dirname "$f")"; done |
         sort -g | tail -1 | cut -d' ' -f2)
  $TG predict --model "$best/best.tgm" --data "$DATA" --collection "$c" --split test \
    --cache "$OUT/cache" --threads 2 --out "$OUT/${c//:/_}.test.csv"
  csvs+=("$OUT/${c//:/_}.test.csv")
done
$TG merge --out "$OUT/layout_test_submission.csv" "${csvs[@]}"
python3 scripts/results_table.py "$OUT"
