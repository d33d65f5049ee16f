#!/usr/bin/env bash
# Screen layouts of your own XLA program: HLO dump in, proposed layouts out (docs/search.md).
#
#   examples/own_program.sh MODEL.tgm OUT_DIR [HLO_DUMP]
#
# Without HLO_DUMP it makes one from the real unet_3d-like module in
# ../shared/data/real/module_tuning_data_layout.pb: field 1 of that tuning record is an
# HloModuleProto, so "field 1 = those bytes" is exactly the HloProto that
# `XLA_FLAGS="--xla_dump_to=DIR --xla_dump_hlo_as_proto"` writes (no protobuf package needed).
# Then: featurize (HloProto -> layout .npz + instruction names), candidates (K legal layouts),
# search (the model as fitness) -> OUT_DIR/search/<stem>.layouts.json, by instruction name.
# env TGRAPH: the CLI (default build/tgraph); BUDGET: model evaluations (default 2000).
set -euo pipefail
[ $# -ge 2 ] || { sed -n 2,12p "$0"; exit 2; }
MODEL=$1 OUT=$2
HERE=$(cd "$(dirname "$0")" && pwd)
TG=${TGRAPH:-$HERE/../build/tgraph}
mkdir -p "$OUT"
DUMP=${3:-$OUT/unet3d.hlo.pb}
if [ $# -lt 3 ]; then
  /usr/bin/python3 - "$HERE/../../shared/data/real/module_tuning_data_layout.pb" "$DUMP" <<'PY'
import sys
data = open(sys.argv[1], "rb").read()
def varint(b, i):
    v = s = 0
    while True:
        c = b[i]; i += 1; v |= (c & 0x7F) << s; s += 7
        if c < 0x80: return v, i
i = 0
while i < len(data):
    tag, i = varint(data, i)
    field, wire = tag >> 3, tag & 7
    if wire == 2:
        n, i = varint(data, i)
        if field == 1:  # ModuleTuningData.module
            module = data[i:i + n]; break
        i += n
    elif wire == 0: _, i = varint(data, i)
    elif wire == 1: i += 8
    elif wire == 5: i += 4
    else: sys.exit("unexpected wire type")
n, head = len(module), bytearray([0x0A])  # HloProto.hlo_module = 1
while True:
    head.append((n & 0x7F) | (0x80 if n > 0x7F else 0)); n >>= 7
    if not n: break
open(sys.argv[2], "wb").write(bytes(head) + module)
PY
fi
"$TG" featurize "$DUMP" --out "$OUT/graph"
NPZ=$(ls "$OUT"/graph/*.npz | head -1)
"$TG" inspect "$NPZ" | tail -n 3
"$TG" candidates "$NPZ" --count 100 --seed 1 --out "$OUT/candidates.npz"
"$TG" search "$NPZ" --model "$MODEL" --budget-evals "${BUDGET:-2000}" --top 10 --seed 1 \
  --threads "${THREADS:-1}" --quiet --out "$OUT/search"
