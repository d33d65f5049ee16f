#!/usr/bin/env bash
# Issue #12's snapshot-ensemble lever (no extra training): for every seed of a finished lever
# sweep run with --snapshots (scripts/levers.sh OUT "name=--snapshots"), combines the last K
# snapshots (the models of the run's last K validations; the last one is last.tgm's) with
# `tgraph ensemble`, evaluates the ensemble on the validation split and prints, per collection,
# the ensembles' mean valid metric (min..max over seeds) against the same runs' last model, both
# scored by `tgraph evaluate` with its defaults, and their mean paired difference.
#
#   scripts/snapshot_lever.sh OUT VARIANT K
#     env: DATA (../shared/data/bench/npz), TGRAPH_BUILD_DIR (build), THREADS (2)
#
# Writes OUT/<collection>/VARIANT/seed<N>/snap<K>.{tgm,json} and last_eval.json.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${1:?usage: scripts/snapshot_lever.sh OUT VARIANT K}
VARIANT=${2:?usage: scripts/snapshot_lever.sh OUT VARIANT K}
K=${3:?usage: scripts/snapshot_lever.sh OUT VARIANT K}
DATA=${DATA:-../shared/data/bench/npz}
THREADS=${THREADS:-2}
TG=${TGRAPH_BUILD_DIR:-build}/tgraph

for cdir in "$OUT"/*/"$VARIANT"; do
  coll_dir=$(basename "$(dirname "$cdir")")
  coll=${coll_dir//_/:}
  cache=()
  [[ $coll == layout:* ]] && cache=(--cache "$OUT/cache")
  for run in "$cdir"/seed*/; do
    [ -d "$run/snapshots" ] || continue
    # The last K snapshots by step.
    mapfile -t snaps < <(ls "$run"/snapshots/step*.tgm | sed 's|.*/step\([0-9]*\)\.tgm|\1|' |
      sort -n | tail -n "$K" | sed "s|^|$run/snapshots/step|; s|$|.tgm|")
    [ "${#snaps[@]}" -ge 2 ] || continue
    [ -f "$run/snap$K.json" ] || {
      $TG ensemble --out "$run/snap$K.tgm" --data "$DATA" "${cache[@]}" --threads "$THREADS" \
        "${snaps[@]}" > /dev/null
      $TG evaluate --model "$run/snap$K.tgm" --data "$DATA" --collection "$coll" --split valid \
        "${cache[@]}" --threads "$THREADS" --json "$run/snap$K.json" > /dev/null
    }
    [ -f "$run/last_eval.json" ] ||
      $TG evaluate --model "$run/last.tgm" --data "$DATA" --collection "$coll" --split valid \
        "${cache[@]}" --threads "$THREADS" --json "$run/last_eval.json" > /dev/null
  done
  /usr/bin/python3 - "$coll" "$cdir" "$K" <<'PY'
import glob, json, os, sys
coll, cdir, k = sys.argv[1], sys.argv[2], sys.argv[3]
key = "mean_tau" if coll.startswith("layout") else "mean_score"
def fmt(xs):
    return f"{sum(xs) / len(xs):.4f} ({min(xs):.4f}..{max(xs):.4f})" if xs else "-"
e, l = [], []
for run in sorted(glob.glob(os.path.join(cdir, "seed*"))):
    a, b = os.path.join(run, f"snap{k}.json"), os.path.join(run, "last_eval.json")
    if os.path.exists(a) and os.path.exists(b):
        e.append(json.load(open(a))[key])
        l.append(json.load(open(b))[key])
d = [x - y for x, y in zip(e, l)]
print(f"| {coll} | {len(e)} | last {k} snapshots: {fmt(e)} | last model: {fmt(l)} | "
      f"{(sum(d) / len(d) if d else float('nan')):+.4f} |")
PY
done
