#!/usr/bin/env bash
# True speed-ups of learned screening on synthetic graphs whose cost model is known (issue #13).
#
# For every test graph of a `tgraph synth` collection and every model given, it measures with
# `tgraph oracle` (the generator's noise-free runtime) the speed-up over the default configuration of
#   (a) the best of the file's own configurations,
#   (b) the model's top-1 after `tgraph search` with N model evaluations,
#   (c) random search with N *measured* evaluations: `tgraph candidates --count N` over the whole
#       space (c1) and near the default (c2: `--changes 3`, 3 nodes changed),
#   (d) the best of the model's top-10, i.e. after measuring those 10, against
#   (e) random search with the same 10 measured evaluations (near the default: the first 10 of c2),
# and prints geometric means over the graphs, one row per model, then the mean and min..max over
# the models (seeds). The search and random candidates use the model's index as their seed.
#
# Usage: bench/search_speedup.sh DATA_DIR COLLECTION OUT_DIR N MODEL.tgm [MODEL.tgm ...]
#   DATA_DIR: the --out of `tgraph synth` (holds synth.json), or several joined by commas (graphs
#   of other seeds' datasets are unseen graphs of the same distribution); COLLECTION e.g.
#   layout:xla:random
#   env TGRAPH (the CLI, default build/tgraph), THREADS (default 1), SPLIT (default test, or a
#   comma-separated list; tune
#   search options on valid), MODEL_EVALS (the search's model evaluations, default N), SEARCH_ARGS (extra `tgraph search` flags, e.g. --max-changed-nodes 3)
set -euo pipefail
[ $# -ge 5 ] || { sed -n 2,24p "$0"; exit 2; }
DATA=$1 COLL=$2 OUT=$3 N=$4
shift 4
TG=${TGRAPH:-$(dirname "$0")/../build/tgraph}
THREADS=${THREADS:-1}
SPLIT=${SPLIT:-test}
IFS=: read -r _ SRC SEARCH <<<"$COLL"
mkdir -p "$OUT"
RES="$OUT/results.jsonl"
: >"$RES"
mi=0
for model in "$@"; do
  mi=$((mi + 1))
  for g in $(for d in ${DATA//,/ }; do for s in ${SPLIT//,/ }; do
    ls "$d"/npz/layout/"$SRC"/"$SEARCH"/"$s"/*.npz; done; done); do
    stem=$(basename "$g" .npz)
    w="$OUT/m$mi/$(basename "$(dirname "$(dirname "$(dirname "$(dirname "$(dirname "$(dirname "$g")")")")")")")/$stem"
    mkdir -p "$w"
    own=$("$TG" oracle "$g" --json --threads "$THREADS")
    start=$(date +%s.%N)
    "$TG" search "$g" --model "$model" --budget-evals "${MODEL_EVALS:-$N}" --top 10 --seed "$mi" \
      --threads "$THREADS" --quiet ${SEARCH_ARGS:-} --out "$w/search" >"$w/search.log"
    end=$(date +%s.%N)
    srch=$("$TG" oracle "$g" --configs "$w/search/$stem.npz" --json --threads "$THREADS")
    "$TG" candidates "$g" --count "$N" --seed "$mi" --out "$w/random.npz" >/dev/null
    rnd=$("$TG" oracle "$g" --configs "$w/random.npz" --json --threads "$THREADS" --out "$w/random.csv")
    "$TG" candidates "$g" --count "$N" --seed "$mi" --changes 3 --out "$w/near.npz" >/dev/null
    near=$("$TG" oracle "$g" --configs "$w/near.npz" --json --threads "$THREADS" --out "$w/near.csv")
    near10=$(awk -F, 'NR > 1 && NR <= 11 && $3 > b { b = $3 } END { print b }' "$w/near.csv")
    printf '{"model": %d, "path": "%s", "graph": "%s", "search_s": %s, "own": %s, "search": %s, "random": %s, "near": %s, "near10": %s}\n' \
      "$mi" "$model" "$stem" "$(echo "$end $start" | awk '{printf "%.3f", $1 - $2}')" "$own" "$srch" "$rnd" "$near" "$near10" >>"$RES"
  done
done

/usr/bin/python3 - "$RES" "$N" "$COLL $SPLIT model evaluations ${MODEL_EVALS:-$N} ${SEARCH_ARGS:-}" <<'EOF'
import json, math, sys
from collections import defaultdict
rows = [json.loads(l) for l in open(sys.argv[1])]
N, coll = sys.argv[2], sys.argv[3]
by = defaultdict(list)
for r in rows: by[r["model"]].append(r)
def gm(xs): return math.exp(sum(math.log(x) for x in xs) / len(xs))
cols = [("own best (a)", lambda r: r["own"]["best_speedup"]),
        ("model top-1 (b)", lambda r: r["search"]["first_speedup"]),
        ("random, N measured (c1)", lambda r: r["random"]["best_speedup"]),
        ("near-default random, N measured (c2)", lambda r: r["near"]["best_speedup"]),
        ("best of model top-10 (d)", lambda r: r["search"]["best_speedup"]),
        ("near-default random, 10 measured (e)", lambda r: r["near10"])]
print(f"{coll}: {len(by[1])} graphs, N = {N}; geometric-mean true speed-up over the default")
print("| model | " + " | ".join(c for c, _ in cols) + " | search s/graph |")
print("|---" * (len(cols) + 2) + "|")
per = []
for m in sorted(by):
    v = [gm([f(r) for r in by[m]]) for _, f in cols]
    per.append(v)
    t = sum(r["search_s"] for r in by[m]) / len(by[m])
    print(f"| {m} | " + " | ".join(f"{x:.3f}" for x in v) + f" | {t:.1f} |")
if len(per) > 1:
    cells = []
    for j in range(len(cols)):
        xs = [p[j] for p in per]
        cells.append(f"{sum(xs)/len(xs):.3f} ({min(xs):.3f}..{max(xs):.3f})")
    print(f"| mean ({len(per)} models) | " + " | ".join(cells) + " | |")
wins = sum(1 for m in by for r in by[m] if r["search"]["first_speedup"] > r["random"]["best_speedup"])
tot = sum(len(by[m]) for m in by)
print(f"model top-1 beats random search (c1) on {wins} of {tot} (model, graph) pairs")
wins = sum(1 for m in by for r in by[m] if r["search"]["best_speedup"] > r["near10"])
print(f"best of model top-10 (d) beats 10 measured near-default random (e) on {wins} of {tot}")
EOF
