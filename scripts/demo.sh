#!/usr/bin/env bash
# The main job on the default data: install, build, then validate and summarise the TpuGraphs-format
# benchmark (../shared/data/bench) and the real sample file. Grows into the full demo (synthesise ->
# train -> evaluate) as those parts land.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/build.sh
SHARED=${TGRAPH_SHARED:-../shared}
echo
echo "== tgraph inspect $SHARED/data/bench/npz"
./build/tgraph inspect "$SHARED/data/bench/npz"
