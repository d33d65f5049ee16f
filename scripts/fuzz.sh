#!/usr/bin/env bash
# Builds the libFuzzer harnesses (fuzz/, clang with ASan + UBSan; LibTorch only for the model-file
# reader, and not instrumented) into
# build-fuzz/ and runs each for SECONDS (default 120) from a seed corpus made of real and benchmark
# files. Crashes, leaks, sanitizer reports and out-of-memory inputs are saved as
# build-fuzz/crashes/<harness>-* and make the script exit 1.
#   bash scripts/fuzz.sh [SECONDS] [HARNESS...]      (CI runs it with 20 seconds)
set -euo pipefail
cd "$(dirname "$0")/.."
SECS=${1:-120}
shift || true
HARNESSES=("$@")
[ ${#HARNESSES[@]} -gt 0 ] || HARNESSES=(npy_header npz loaders pack featurize hlo_input model_file)
B=${TGRAPH_FUZZ_DIR:-build-fuzz}
SHARED=${TGRAPH_SHARED_DIR:-../shared}
CC=clang CXX=clang++ cmake -S . -B "$B" -G Ninja -DTGRAPH_FUZZ=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  > /dev/null
cmake --build "$B" -j "$(nproc)" > "$B/build.log" 2>&1 || { tail -30 "$B/build.log"; exit 1; }

# Seed corpora (small files: fuzzing speed is per input byte).
C="$B/corpus"
mkdir -p "$C" "$B/crashes"
if [ ! -f "$C/.seeded" ]; then
  mkdir -p "$C"/{npy_header,npz,loaders,pack,featurize,model_file}
  cp tests/model/fixtures/*.tgm "$C/model_file/"  # a layout and a tile model file
  /usr/bin/python3 - "$SHARED" "$C" <<'PY'
import glob, io, os, sys, zipfile
import numpy as np
shared, c = sys.argv[1], sys.argv[2]
# Small valid layout and tile archives, stored and deflated.
rng = np.random.default_rng(0)
N, NC, K = 8, 2, 4
lay = dict(node_feat=rng.normal(size=(N, 140)).astype(np.float32),
           node_opcode=rng.integers(0, 121, N).astype(np.uint8),
           edge_index=np.array([[u, u - 1] for u in range(1, N)], dtype=np.int64),
           node_config_feat=rng.integers(-1, 6, (K, NC, 18)).astype(np.float32),
           node_config_ids=np.array([1, 5], dtype=np.int64),
           config_runtime=rng.integers(100, 200, K).astype(np.int64),
           node_splits=np.array([[0, N]], dtype=np.int64))
tile = dict(node_feat=lay["node_feat"], node_opcode=lay["node_opcode"], edge_index=lay["edge_index"],
            config_feat=rng.integers(0, 9, (K, 24)).astype(np.float32),
            config_runtime=lay["config_runtime"], config_runtime_normalizers=lay["config_runtime"])
for name, arrs in (("layout", lay), ("tile", tile)):
    for d in ("npz", "loaders"):
        np.savez(os.path.join(c, d, name + "_stored.npz"), **arrs)
        np.savez_compressed(os.path.join(c, d, name + "_deflated.npz"), **arrs)
# The smallest benchmark files of each kind.
files = sorted(glob.glob(os.path.join(shared, "data/bench/npz/**/*.npz"), recursive=True),
               key=os.path.getsize)
for f in [f for f in files if "/tile/" in f][:3] + [f for f in files if "/layout/" in f][:3]:
    for d in ("npz", "loaders"):
        with open(f, "rb") as src, open(os.path.join(c, d, os.path.basename(f)), "wb") as dst:
            dst.write(src.read())
# npy headers: the first bytes of every member of the seed archives.
for f in glob.glob(os.path.join(c, "npz", "*.npz")):
    with zipfile.ZipFile(f) as z:
        for i, n in enumerate(z.namelist()):
            with open(os.path.join(c, "npy_header", f"{os.path.basename(f)}.{i}"), "wb") as o:
                o.write(z.read(n)[:256])
for f in glob.glob(os.path.join(shared, "data/real/*.pb")):
    with open(f, "rb") as src, open(os.path.join(c, "featurize", os.path.basename(f)), "wb") as dst:
        dst.write(src.read())
PY
  # Pack seeds need the main build's CLI (built by scripts/build.sh); skipped without it.
  TG=${TGRAPH_BUILD_DIR:-build}/tgraph
  if [ -x "$TG" ]; then
    mkdir -p "$B/seedroot/layout/xla/random/train"
    cp "$C"/loaders/layout_*.npz "$B/seedroot/layout/xla/random/train/"
    "$TG" pack --data "$B/seedroot" --collection layout:xla:random --split train \
      --out "$B/seedpack" --threads 1 > /dev/null
    cp "$B"/seedpack/layout/xla/random/train/*.tgpack "$C/pack/"
  else
    printf 'TGPACK01' > "$C/pack/magic_only"
  fi
  touch "$C/.seeded"
fi
# HLO dumps (fuzz_hlo_input, added later: seeded on its own): the real module as a binary HloProto,
# bare HloModuleProto, HloSnapshot and gzip, a small hand-encoded module in binary and text form,
# and the texts that are refused (HLO text, StableHLO).
if [ ! -f "$C/.seeded_hlo_input" ]; then
  mkdir -p "$C/hlo_input"
  /usr/bin/python3 - "$SHARED" "$C/hlo_input" <<'PY'
import gzip, os, sys
shared, out = sys.argv[1], sys.argv[2]
def varint(v):
    b = bytearray()
    while True:
        b.append((v & 0x7f) | (0x80 if v > 0x7f else 0))
        v >>= 7
        if not v:
            return bytes(b)
def ld(num, payload):  # a length-delimited field
    return varint(num << 3 | 2) + varint(len(payload)) + payload
def vi(num, v):
    return varint(num << 3) + varint(v)
def write(name, data):
    with open(os.path.join(out, name), "wb") as f:
        f.write(data)
# Field 1 of the layout record is its HloModuleProto.
rec = open(os.path.join(shared, "data/real/module_tuning_data_layout.pb"), "rb").read()
pos, tag = 0, rec[0]
assert tag == 0x0a
n, shift, pos = 0, 0, 1
while True:
    c = rec[pos]; pos += 1; n |= (c & 0x7f) << shift; shift += 7
    if c < 0x80:
        break
module = rec[pos:pos + n]
proto = ld(1, module)
write("real.hlo.pb", proto)
write("real.module.pb", module)
write("real.snapshot.pb", ld(1, proto) + ld(4, b"Host"))
write("real.hlo.pb.gz", gzip.compress(proto))
def shape(et, dims, m2m):
    return vi(2, et) + ld(3, b"".join(varint(d) for d in dims)) + ld(5, ld(1, b"".join(varint(d) for d in m2m)))
def inst(name, op, sh, iid, operands=(), param=None):
    b = ld(1, name) + ld(2, op) + ld(3, sh)
    if param is not None:
        b += vi(9, param)
    b += vi(35, iid)
    if operands:
        b += ld(36, b"".join(varint(o) for o in operands))
    return b
comp = (ld(1, b"main") +
        ld(2, inst(b"p0", b"parameter", shape(11, [2, 3], [1, 0]), 1, param=0)) +
        ld(2, inst(b"p1", b"parameter", shape(11, [3, 4], [0, 1]), 2, param=1)) +
        ld(2, inst(b"dot", b"dot", shape(11, [2, 4], [1, 0]), 3, [1, 2])) +
        ld(2, inst(b"r", b"reshape", shape(11, [8], [0]), 4, [3])) + vi(5, 5) + vi(6, 4))
small = ld(1, b"small") + ld(3, comp)
write("small.module.pb", small)
write("small.hlo.pb", ld(1, small))
write("small.hlo.pb.gz", gzip.compress(ld(1, small)))
text = b"""name: "small"
computations {
  name: "main"
  instructions { name: "p0" opcode: "parameter" shape { element_type: F32 dimensions: [2, 3] layout { minor_to_major: [1, 0] } } id: 1 }
  instructions { name: "p1" opcode: "parameter" parameter_number: 1 shape { element_type: BF16 dimensions: [3, 4] layout { minor_to_major: [0, 1] } } id: 2 }
  instructions { name: "dot" opcode: "dot" shape { element_type: F32 dimensions: [2, 4] layout { minor_to_major: [1, 0] } } id: 3 operand_ids: [1, 2] metadata { op_name: "x" } }
  instructions { name: "r" opcode: "reshape" shape { element_type: F32 dimensions: 8 layout { minor_to_major: 0 } } id: 4 operand_ids: 3 }
  id: 5
  root_id: 4
}
"""
write("small.module.pbtxt", text)
write("small.hlo.pbtxt", b"hlo_module {\n" + text + b"}\n")
write("small.snapshot.pbtxt", b"hlo { hlo_module {\n" + text + b"} }\nexecution_platform: \"Host\"\n")
write("f.hlo.txt", b"HloModule jit_f, entry_computation_layout={(f32[2]{0})->f32[2]{0}}\n")
write("f.mlir", b"module @jit_f {\n  func.func public @main(%arg0: tensor<2xf32>) -> tensor<2xf32> {\n    return %arg0 : tensor<2xf32>\n  }\n}\n")
write("f.mlirbc", b"ML\xefR\x00\x05StableHLO_v1.0")
PY
  touch "$C/.seeded_hlo_input"
fi

status=0
for h in "${HARNESSES[@]}"; do
  echo "== fuzz_$h: ${SECS} s"
  if ! "$B/fuzz/fuzz_$h" "$C/$h" -max_total_time="$SECS" -rss_limit_mb=2048 -timeout=20 \
    -max_len=1048576 -artifact_prefix="$B/crashes/$h-" -print_final_stats=1 \
    > "$B/fuzz_$h.log" 2>&1; then
    status=1
    grep -E "ERROR|SUMMARY|artifact" "$B/fuzz_$h.log" | head -5
  fi
  grep -E "stat::number_of_executed_units|stat::peak_rss_mb" "$B/fuzz_$h.log" | tr '\n' ' '
  echo "corpus $(ls "$C/$h" | wc -l) inputs"
done
exit $status
