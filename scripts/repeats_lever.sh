#!/usr/bin/env bash
# Issue #12's slate-repeats lever (inference only, no retraining): evaluates the last checkpoints
# of a finished lever sweep (scripts/levers.sh) with `tgraph evaluate --slate-repeats R` for each R
# and prints, per collection, the mean valid tau (min..max over seeds) and the mean paired change
# against R = 1 (the same models, one slate partition). Only cross-attention models change
# (default collections); the others score the same at every R.
#
#   scripts/repeats_lever.sh OUT VARIANT [R...]      (default R: 1 2 4 8)
#     env: DATA (../shared/data/bench/npz), TGRAPH_BUILD_DIR (build), THREADS (2),
#          COLLECTIONS (default: "layout:xla:default layout:nlp:default")
#
# e.g. scripts/repeats_lever.sh runs/b600 preset 1 2 4 8
# Writes OUT/<collection>/VARIANT/seed<N>/repeats<R>.json.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${1:?usage: scripts/repeats_lever.sh OUT VARIANT [R...]}
VARIANT=${2:?usage: scripts/repeats_lever.sh OUT VARIANT [R...]}
shift 2
REPEATS=("$@")
[ ${#REPEATS[@]} -gt 0 ] || REPEATS=(1 2 4 8)
DATA=${DATA:-../shared/data/bench/npz}
THREADS=${THREADS:-2}
COLLECTIONS=${COLLECTIONS:-"layout:xla:default layout:nlp:default"}
TG=${TGRAPH_BUILD_DIR:-build}/tgraph

for coll in $COLLECTIONS; do
  cdir="$OUT/${coll//:/_}/$VARIANT"
  for run in "$cdir"/seed*/; do
    [ -f "$run/last.tgm" ] || continue
    for r in "${REPEATS[@]}"; do
      j="$run/repeats$r.json"
      [ -f "$j" ] && continue
      $TG evaluate --model "$run/last.tgm" --data "$DATA" --collection "$coll" --split valid \
        --cache "$OUT/cache" --threads "$THREADS" --slate-repeats "$r" --json "$j" > /dev/null
    done
  done
done
/usr/bin/python3 - "$OUT" "$VARIANT" "$COLLECTIONS" "${REPEATS[@]}" <<'PY'
import glob, json, os, sys
out, variant, colls, reps = sys.argv[1], sys.argv[2], sys.argv[3].split(), sys.argv[4:]
def fmt(xs):
    return f"{sum(xs) / len(xs):.4f} ({min(xs):.4f}..{max(xs):.4f})" if xs else "-"
print("| collection | seeds | " + " | ".join(f"R = {r}" for r in reps) + " |")
print("|---|---|" + "---|" * len(reps))
for coll in colls:
    runs = sorted(glob.glob(os.path.join(out, coll.replace(":", "_"), variant, "seed*")))
    taus = {r: [] for r in reps}
    for run in runs:
        files = [os.path.join(run, f"repeats{r}.json") for r in reps]
        if all(os.path.exists(f) for f in files):
            for r, f in zip(reps, files):
                taus[r].append(json.load(open(f))["mean_tau"])
    base = taus[reps[0]]
    cells = []
    for r in reps:
        d = [a - b for a, b in zip(taus[r], base)]
        cells.append(fmt(taus[r]) + (f", {sum(d) / len(d):+.4f}" if r != reps[0] and d else ""))
    print(f"| {coll} | {len(base)} | " + " | ".join(cells) + " |")
PY
