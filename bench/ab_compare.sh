#!/usr/bin/env bash
# Two tgraph builds side by side, in one run: `tgraph bench` of binary A and binary B interleaved
# (A, B, A, B, ...) on one graph for each model and thread count, then the B / A ratios of
# training and inference configurations/s (mean of the repetitions). For measuring an engine
# change against the build before it: timings are only comparable within one run (shared, noisy
# machines).
#
# Usage: bench/ab_compare.sh A_TGRAPH B_TGRAPH [OUT.jsonl]
#   env GRAPH (default: the resnet50 xla random train graph, 529 nodes after pruning),
#   THREADS (default "1 2"), STEPS (10), REPS (2), MODELS ("tgraph-cpu:32:0 tgraph:128:0
#   tgraph:64:1" = preset:slate:cross-attention), INFER_CONFIGS (0 = all of the graph's; other
#   values need builds that have `bench --infer-configs`), A_FLAGS / B_FLAGS (extra `bench` flags
#   of one side: the same binary twice with B_FLAGS=--bf16 measures bfloat16 matmuls).
# Builds before the OpenBLAS core fix (src/tgraph/util/blas_core.h) do not force a core: set
# OPENBLAS_CORETYPE for the whole run so that both sides use the same GEMM kernels.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
A=${1:?usage: bench/ab_compare.sh A_TGRAPH B_TGRAPH [OUT.jsonl]}
B=${2:?usage: bench/ab_compare.sh A_TGRAPH B_TGRAPH [OUT.jsonl]}
OUT=${3:-$(mktemp)}
GRAPH=${GRAPH:-$HERE/../../shared/data/bench/npz/layout/xla/random/train/resnet50_like_w1_i224_b64_f32_train.npz}
THREADS=${THREADS:-1 2}
STEPS=${STEPS:-10}
REPS=${REPS:-2}
MODELS=${MODELS:-tgraph-cpu:32:0 tgraph:128:0 tgraph:64:1}
INFER_CONFIGS=${INFER_CONFIGS:-0}
: >"$OUT"
for t in $THREADS; do
  for m in $MODELS; do
    IFS=: read -r model slate xattn <<<"$m"
    for ((r = 0; r < REPS; r++)); do
      for side in A B; do
        bin=$A
        [ "$side" = B ] && bin=$B
        "$bin" bench "$GRAPH" --model "$model" --slate "$slate" --cross-attention "$xattn" \
          --steps "$STEPS" --threads "$t" $([ "$side" = A ] && echo "${A_FLAGS:-}" || echo "${B_FLAGS:-}") \
          $([ "$INFER_CONFIGS" != 0 ] && echo --infer-configs "$INFER_CONFIGS") |
          jq -c --arg side "$side" --argjson t "$t" --arg m "$m" \
            '{side: $side, threads: $t, model: $m, train: .train_configs_per_s, infer: .infer_configs_per_s}' \
          >>"$OUT"
      done
    done
  done
done

/usr/bin/python3 - "$OUT" <<'EOF'
import json, sys
from collections import defaultdict
acc = defaultdict(list)
for l in open(sys.argv[1]):
    r = json.loads(l)
    acc[(r["threads"], r["model"], r["side"])].append(r)
print("| threads | preset:slate:xattn | train cfg/s A / B | B / A | infer cfg/s A / B | B / A |")
print("|---|---|---|---|---|---|")
for (t, m, side) in sorted(k for k in acc if k[2] == "A"):
    a, b = acc[(t, m, "A")], acc[(t, m, "B")]
    mean = lambda rs, k: sum(r[k] for r in rs) / len(rs)
    ta, tb, ia, ib = mean(a, "train"), mean(b, "train"), mean(a, "infer"), mean(b, "infer")
    print(f"| {t} | {m} | {ta:.1f} / {tb:.1f} | {tb / ta:.2f}x | {ia:.1f} / {ib:.1f} | {ib / ia:.2f}x |")
EOF
