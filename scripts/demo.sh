#!/usr/bin/env bash
# The main job, end to end on embedded data (no download): install, build, synthesise a small
# TpuGraphs-format dataset, train TGraph and the baseline on one layout collection and the tile
# model and its baseline on tile:xla, evaluate them side by side, and plot training curves and
# predicted vs measured runtimes. Outputs go to demo/ (override: DEMO_DIR).
#
# Budgets (seconds, env): LAYOUT_BUDGET (default 90), TILE_BUDGET (60). The two models of each task
# train in parallel, one thread each (2 cores). SEED (default 1) seeds the training runs; the
# dataset is always synthesised with seed 1, so other seeds repeat the same comparison.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/build.sh tgraph_cli   # only the CLI: the demo needs no tests

OUT=${DEMO_DIR:-demo}
LAYOUT=${LAYOUT_COLLECTION:-layout:xla:default}
LAYOUT_BUDGET=${LAYOUT_BUDGET:-90}
TILE_BUDGET=${TILE_BUDGET:-60}
SEED=${SEED:-1}
TG=./build/tgraph
rm -rf "$OUT"
mkdir -p "$OUT"
start=$(date +%s)

echo "== 1/4 synthesise a small dataset ($OUT/data)"
$TG synth --out "$OUT/data" --preset small --seed 1 > "$OUT/synth.log"
$TG inspect "$OUT/data/npz" | tail -n 16

echo "== 2/4 train on $LAYOUT and tile:xla (${LAYOUT_BUDGET}s / ${TILE_BUDGET}s per model)"
train() {  # name collection model budget [flags...]
  $TG train --data "$OUT/data/npz" --collection "$2" --model "$3" --time-budget "$4" --threads 1 \
    --seed "$SEED" --cache "$OUT/cache" --out "$OUT/$1" --no-progress "${@:5}" > "$OUT/$1.log" 2>&1
}
$TG pack --data "$OUT/data/npz" --collection "$LAYOUT" --split all --out "$OUT/cache" > /dev/null
# TGraph with the recipe's tile padding input (scripts/recipe.sh); the baseline as it is.
train tgraph "$LAYOUT" tgraph-cpu "$LAYOUT_BUDGET" --arch layout_tiling=true & p1=$!
train baseline "$LAYOUT" baseline "$LAYOUT_BUDGET" & p2=$!
wait $p1 $p2
# The tile model with the recipe's flags (scripts/recipe.sh).
train tile tile:xla tile "$TILE_BUDGET" --hidden 64 --loss listmle --arch tile_fit=true & p1=$!
train tile-baseline tile:xla tile-baseline "$TILE_BUDGET" & p2=$!
wait $p1 $p2

# The last checkpoints are evaluated: best.tgm is chosen on these same validation graphs, so its
# value would overstate the model (issue #12's protocol); a cross-attention model is scored in
# slates of twice its training slate (the default).
echo "== 3/4 evaluate the last checkpoints on the validation split"
for m in tgraph baseline; do
  $TG evaluate --model "$OUT/$m/last.tgm" --data "$OUT/data/npz" --cache "$OUT/cache" \
    --json "$OUT/$m.eval.json" > "$OUT/$m.eval.txt"
done
for m in tile tile-baseline; do
  $TG evaluate --model "$OUT/$m/last.tgm" --data "$OUT/data/npz" --json "$OUT/$m.eval.json" > /dev/null
done
$TG evaluate --heuristic row0 --data "$OUT/data/npz" --json "$OUT/row0.eval.json" > /dev/null
{
  printf '%-34s %10s %10s %12s %10s %10s\n' "model" "tau" "OPA" "tile score" "top-1 err" "top-5 err"
  for m in tgraph baseline; do
    jq -r --arg n "$m ($LAYOUT)" '[$n, .mean_tau, .mean_opa] | "\(.[0])|\(.[1])|\(.[2])"' "$OUT/$m.eval.json"
  done | awk -F'|' '{printf "%-34s %10.4f %10.4f %12s %10s %10s\n", $1, $2, $3, "-", "-", "-"}'
  for m in tile tile-baseline row0; do
    jq -r --arg n "$m (tile:xla)" '"\($n)|\(.mean_score)|\(.mean_err1)|\(.mean_err5)"' "$OUT/$m.eval.json"
  done | awk -F'|' '{printf "%-34s %10s %10s %12.4f %10.4f %10.4f\n", $1, "-", "-", $2, $3, $4}'
} | tee "$OUT/table.txt"

echo "== 4/4 plot ($OUT/demo.png)"
for m in tgraph baseline; do
  jq -r '[.seconds, .valid.mean_tau] | @tsv' "$OUT/$m/log.jsonl" > "$OUT/$m.curve.tsv"
done
for m in tile tile-baseline; do
  jq -r '[.seconds, .valid.mean_score] | @tsv' "$OUT/$m/log.jsonl" > "$OUT/$m.curve.tsv"
done
valid_dir="$OUT/data/npz/$(echo "$LAYOUT" | tr ':' '/')/valid"
graph=$(ls "$valid_dir" | head -1)
$TG rank "$OUT/tgraph/last.tgm" "$valid_dir/$graph" --json --threads 2 |
  jq -r '. as $j | range(0; $j.scores | length) | [$j.runtimes[.] / 1e6, $j.scores[.]] | @tsv' \
  > "$OUT/scatter.tsv"
gnuplot <<GP
set terminal pngcairo size 1500,450 font ",10" noenhanced
set output "$OUT/demo.png"
set multiplot layout 1,3 title "tgraph demo (synthetic data, 2-core CPU)"
set key bottom right
set xlabel "training time (s)"
set ylabel "validation Kendall tau"
set title "$LAYOUT"
plot "$OUT/tgraph.curve.tsv" using 1:2 with linespoints title "TGraph (tgraph-cpu)", \
     "$OUT/baseline.curve.tsv" using 1:2 with linespoints title "baseline"
set ylabel "validation tile score"
set title "tile:xla"
plot "$OUT/tile.curve.tsv" using 1:2 with linespoints title "tile model", \
     "$OUT/tile-baseline.curve.tsv" using 1:2 with linespoints title "early-join baseline"
set title "predicted score vs measured runtime: ${graph%.npz}"
set xlabel "measured runtime (ms)"
set ylabel "TGraph score (higher = slower)"
unset key
plot "$OUT/scatter.tsv" using 1:2 with points pt 7 ps 0.4
unset multiplot
GP
echo
echo "done in $(( $(date +%s) - start )) s. Outputs in $OUT/:"
echo "  table.txt (above, last checkpoints), demo.png (curves + predicted vs measured), */last.tgm (models),"
echo "  */log.jsonl (every evaluation), *.eval.json (per-graph metrics), data/ (the dataset)"
