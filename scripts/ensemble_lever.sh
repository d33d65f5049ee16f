#!/usr/bin/env bash
# Issue #12's seed-ensemble lever at equal budget: groups the seeds of a finished lever sweep
# (scripts/levers.sh, run at BUDGET / M per seed) into ensembles of M consecutive seeds, combines
# each group's last checkpoints with `tgraph ensemble`, evaluates it on the validation split and
# prints, per collection, the ensembles' mean valid metric (min..max) and the members' own.
#
#   scripts/ensemble_lever.sh OUT VARIANT M
#     env: DATA (../shared/data/bench/npz), TGRAPH_BUILD_DIR (build)
#
# e.g. BUDGET=150 SEEDS="1 2 3 4 5 6" scripts/levers.sh runs/e150 "preset=" and then
#      scripts/ensemble_lever.sh runs/e150 preset 2   (3 ensembles of 2 x 150 s against 300 s runs)
# Writes OUT/<collection>/VARIANT/ens<M>_<first seed>.{tgm,json}.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${1:?usage: scripts/ensemble_lever.sh OUT VARIANT M}
VARIANT=${2:?usage: scripts/ensemble_lever.sh OUT VARIANT M}
M=${3:?usage: scripts/ensemble_lever.sh OUT VARIANT M}
DATA=${DATA:-../shared/data/bench/npz}
TG=${TGRAPH_BUILD_DIR:-build}/tgraph

echo "| collection | ensembles of $M (last checkpoints) | members alone (last) |"
echo "|---|---|---|"
for cdir in "$OUT"/*/"$VARIANT"; do
  coll_dir=$(basename "$(dirname "$cdir")")
  coll=${coll_dir//_/:}
  # Seeds in numeric order, then groups of M consecutive ones (an incomplete last group is dropped).
  mapfile -t seeds < <(ls -d "$cdir"/seed*/ 2>/dev/null | sed 's|.*/seed\([0-9]*\)/|\1|' | sort -n)
  ens=()
  for ((i = 0; i + M <= ${#seeds[@]}; i += M)); do
    members=()
    for ((j = i; j < i + M; j++)); do members+=("$cdir/seed${seeds[j]}/last.tgm"); done
    e="$cdir/ens${M}_${seeds[i]}"
    cache=()
    [[ $coll == layout:* ]] && cache=(--cache "$OUT/cache")
    $TG ensemble --out "$e.tgm" --data "$DATA" "${cache[@]}" --threads 2 "${members[@]}" > /dev/null
    $TG evaluate --model "$e.tgm" --data "$DATA" --collection "$coll" --split valid "${cache[@]}" \
      --threads 2 --json "$e.json" > /dev/null
    ens+=("$e.json")
  done
  /usr/bin/python3 - "$coll" "$cdir" "${ens[@]}" <<'PY'
import glob, json, os, sys
coll, cdir, ens = sys.argv[1], sys.argv[2], sys.argv[3:]
key = "mean_tau" if coll.startswith("layout") else "mean_score"
last = "last_tau" if coll.startswith("layout") else "last_score"
def fmt(xs):
    return f"{sum(xs) / len(xs):.4f} ({min(xs):.4f}..{max(xs):.4f}), {len(xs)}" if xs else "-"
e = [json.load(open(f))[key] for f in ens]
m = [json.load(open(f))[last] for f in sorted(glob.glob(os.path.join(cdir, "seed*", "summary.json")))]
print(f"| {coll} | {fmt(e)} | {fmt(m)} |")
PY
done
