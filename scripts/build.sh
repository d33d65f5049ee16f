#!/usr/bin/env bash
# Configures and builds tgraph into ./build (Release, Ninja, ccache when present).
# Usage: scripts/build.sh [TARGET...]   (default: everything; env TGRAPH_CMAKE_ARGS for -D options)
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${TGRAPH_BUILD_DIR:-build}
JOBS=${TGRAPH_JOBS:-$(nproc)}
# shellcheck disable=SC2086
cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=Release ${TGRAPH_CMAKE_ARGS:-} >/dev/null
if [ $# -gt 0 ]; then
  cmake --build "$BUILD_DIR" -j "$JOBS" --target "$@"
else
  cmake --build "$BUILD_DIR" -j "$JOBS"
fi
