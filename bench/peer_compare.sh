#!/usr/bin/env bash
# Side by side, in one run: tgraph against the plain-PyTorch peer (../shared/peers) on the same
# graphs, width, slate, threads and steps (issue #11). For each graph and model it runs
# `tgraph bench` and `pytorch_tgraph_bench.py` back to back and prints train and inference
# configurations/s, their ratio, tgraph's model GFLOP/s (from its multiply-add count, see
# `forward_macs_per_config` in src/tgraph/train/bench.cc) and the 1000x1000 fp32 matmul GFLOP/s
# measured in the same `tgraph bench` call (the machine's peak for this thread count).
#
# Usage: bench/peer_compare.sh [OUT.jsonl]
#   env TGRAPH (default build/tgraph), THREADS (default "1 2"), STEPS (default 10),
#   GRAPHS (default: the small / median / large xla random train graphs after pruning: 68, 145,
#   529 nodes; stems in ../shared/data/bench/npz/layout/xla/random/train), MODELS (default
#   "64:32:0 256:128:0 256:64:1" = width:slate:cross-attention), TGRAPH_FLAGS (extra flags of
#   `tgraph bench`, e.g. --bf16: then the peak column is the bfloat16 matmul's).
# Timings are only comparable within one run (shared, noisy machines): read the ratios. The peer
# gets the OpenBLAS core tgraph reports (`blas_core`), so both use the same GEMM kernels, and the
# allocator tgraph links (tcmalloc, preloaded, release rate 0 as the CLI sets it), so neither pays
# for page faults the other does not: with glibc's malloc the peer maps and faults in its large
# buffers every step, which cost it 1.2-4.4x on a VM where faults are slow (docs/results.md).
# PEER_ALLOCATOR=system runs the peer with glibc's malloc instead.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
TG=${TGRAPH:-$HERE/../build/tgraph}
PEER=$HERE/../../shared/peers/pytorch_tgraph_bench.py
B=$HERE/../../shared/data/bench/npz/layout/xla/random/train
OUT=${1:-$(mktemp)}
THREADS=${THREADS:-1 2}
STEPS=${STEPS:-10}
GRAPHS=${GRAPHS:-alexnet_like_w1_i224_b128_bf16_train resnet34_like_w2_i160_b8_bf16_infer resnet50_like_w1_i224_b64_f32_train}
MODELS=${MODELS:-64:32:0 256:128:0 256:64:1}
peer_env=()
if [ "${PEER_ALLOCATOR:-tgraph}" != system ]; then
  tcm=$(ldd "$TG" | awk '/libtcmalloc/ && !f { print $3; f = 1 }')
  if [ -n "$tcm" ]; then
    peer_env=(LD_PRELOAD="$tcm" TCMALLOC_RELEASE_RATE="${TCMALLOC_RELEASE_RATE:-0}")
  fi
fi
echo "peer allocator: ${peer_env[*]:-glibc malloc}" >&2
: >"$OUT"
for t in $THREADS; do
  for g in $GRAPHS; do
    for m in $MODELS; do
      IFS=: read -r width slate xattn <<<"$m"
      name=$([ "$width" = 64 ] && echo tgraph-cpu || echo tgraph)
      [ "$width" = 64 ] || [ "$width" = 256 ] || { echo "width 64 or 256 only" >&2; exit 2; }
      ours=$("$TG" bench "$B/$g.npz" --model "$name" --slate "$slate" --steps "$STEPS" \
        --cross-attention "$xattn" --threads "$t" ${TGRAPH_FLAGS:-} | jq -c .)
      # The peer runs with the OpenBLAS kernels tgraph ran with (tgraph forces a core where
      # OpenBLAS falls back to generic ones: src/tgraph/util/blas_core.h).
      core=$(jq -r '.blas_core // ""' <<<"$ours")
      peer=$(env "${peer_env[@]}" ${core:+OPENBLAS_CORETYPE=$core} /usr/bin/python3 "$PEER" "$B/$g.npz" --width "$width" --slate "$slate" \
        --steps "$STEPS" --threads "$t" $([ "$xattn" = 1 ] && echo --xattn))
      printf '{"threads": %s, "width": %s, "slate": %s, "xattn": %s, "tgraph": %s, "peer": %s}\n' \
        "$t" "$width" "$slate" "$xattn" "$ours" "$peer" >>"$OUT"
    done
  done
done

/usr/bin/python3 - "$OUT" <<'EOF'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
print("| threads | graph (pruned N) | width, slate | train cfg/s tgraph / peer | ratio | infer cfg/s tgraph / peer | ratio | model GFLOP/s train / infer | matmul peak GFLOP/s | % of peak train / infer |")
print("|---|---|---|---|---|---|---|---|---|---|")
for r in rows:
    o, p = r["tgraph"], r["peer"]
    # With --bf16 in TGRAPH_FLAGS the peak is the bfloat16 matmul's, measured in the same call.
    pk = o.get("matmul_bf16_gflops_1000") or o["matmul_gflops_1000"]
    print(f"| {r['threads']} | {o['graph'][:36]} ({o['pruned_nodes']}) | {r['width']}, {r['slate']}{' +xattn' if r['xattn'] else ''} "
          f"| {o['train_configs_per_s']:.1f} / {p['train_cfg_per_s']:.1f} | {o['train_configs_per_s'] / p['train_cfg_per_s']:.2f}x "
          f"| {o['infer_configs_per_s']:.1f} / {p['infer_cfg_per_s']:.1f} | {o['infer_configs_per_s'] / p['infer_cfg_per_s']:.2f}x "
          f"| {o['train_model_gflops']:.1f} / {o['infer_model_gflops']:.1f} | {pk:.1f} "
          f"| {100 * o['train_model_gflops'] / pk:.0f} % / {100 * o['infer_model_gflops'] / pk:.0f} % |")
by = {}
for r in rows:
    by.setdefault((r["tgraph"]["graph"], r["width"], r["slate"], r["xattn"]), {})[r["threads"]] = r["tgraph"]
for k, v in by.items():
    if 1 in v and 2 in v:
        print(f"2 vs 1 threads, {k[0][:36]} width {k[1]} slate {k[2]}{' +xattn' if k[3] else ''}: "
              f"train {v[2]['train_configs_per_s'] / v[1]['train_configs_per_s']:.2f}x, "
              f"infer {v[2]['infer_configs_per_s'] / v[1]['infer_configs_per_s']:.2f}x")
EOF
