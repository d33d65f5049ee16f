#!/usr/bin/env bash
# Runs one lever comparison of issue #12's protocol: every variant x collection x seed trained
# from scratch at the same wall-clock budget, one thread per run, LANES runs in parallel, then a
# table of best-by-validation and last-checkpoint tau (mean, min..max over seeds) per variant.
#
#   scripts/levers.sh OUT "name1=flags1" "name2=flags2" ...
#     env: BUDGET (s per run, 300), SEEDS ("1 2 3"), LANES (2), THREADS (per run, 1; THREADS=2
#          LANES=1 gives each run both cores), COLLECTIONS, MODEL (tgraph-cpu;
#          a variant's own --model wins),
#          DATA (../shared/data/bench/npz), TGRAPH_BUILD_DIR (build)
#
# e.g. scripts/levers.sh runs/reach "hops1=" "contract=--reach contract"
# In flags, @SEED@ becomes the run's seed (e.g. "--init runs/r/layout_xla_random/hops1/seed@SEED@/best.tgm").
# Runs land in OUT/<collection>/<name>/seed<N>/ (summary.json, log.jsonl, best.tgm, last.tgm) and
# are skipped when their summary.json exists, so an interrupted sweep resumes.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${1:?usage: scripts/levers.sh OUT name=flags ...}
shift
DATA=${DATA:-../shared/data/bench/npz}
BUDGET=${BUDGET:-300}
SEEDS=${SEEDS:-"1 2 3"}
LANES=${LANES:-2}
THREADS=${THREADS:-1}
MODEL=${MODEL:-tgraph-cpu}
COLLECTIONS=${COLLECTIONS:-"layout:xla:random layout:xla:default layout:nlp:random layout:nlp:default"}
TG=${TGRAPH_BUILD_DIR:-build}/tgraph
mkdir -p "$OUT"

jobs_file=$(mktemp)
for c in $COLLECTIONS; do
  for v in "$@"; do
    name=${v%%=*}
    flags=${v#*=}
    for s in $SEEDS; do
      d="$OUT/${c//:/_}/$name/seed$s"
      [ -f "$d/summary.json" ] && continue
      mkdir -p "$(dirname "$d")"
      # A variant's own --model (e.g. the baseline) replaces MODEL.
      model_flag="--model $MODEL"
      [[ " $flags" == *" --model "* ]] && model_flag=""
      echo "$TG train --data $DATA --collection $c $model_flag --seed $s --threads $THREADS --time-budget $BUDGET --cache $OUT/cache --out $d --no-progress ${flags//@SEED@/$s} > $d.log 2>&1 || echo FAILED $d" >> "$jobs_file"
    done
    # Pack once per reach before parallel runs share the cache (tile kernels are not packed).
    [[ $c == tile:* ]] && continue
    reach=$(sed -n 's/.*--reach \([^ ]*\).*/\1/p' <<< "$flags")
    for pc in $c $(sed -n 's/.*--train-also \([^ ]*\).*/\1/p' <<< "$flags"); do
      $TG pack --data "$DATA" --collection "$pc" --split all --out "$OUT/cache" \
        ${reach:+--reach $reach} > /dev/null
    done
  done
done
xargs -P "$LANES" -I{} bash -c "{}" < "$jobs_file"
rm -f "$jobs_file"
/usr/bin/python3 scripts/levers_table.py "$OUT"
