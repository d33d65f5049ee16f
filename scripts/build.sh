#!/usr/bin/env bash
# Configures and builds tgraph into ./build (Release, Ninja, ccache when present).
# Usage: scripts/build.sh [extra cmake -D options]
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${TGRAPH_BUILD_DIR:-build}
JOBS=${TGRAPH_JOBS:-$(nproc)}
cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=Release "$@" >/dev/null
cmake --build "$BUILD_DIR" -j "$JOBS"
