#!/usr/bin/env bash
# Installs every build, run and test dependency of tgraph from Debian packages (no other downloads).
# Idempotent: re-running only checks that the packages are present.
set -euo pipefail

PKGS=(
  build-essential cmake ninja-build ccache pkg-config git
  libtorch-dev            # LibTorch 1.13.1 (CPU)
  libgloo-dev             # c10d ProcessGroupGloo headers (not a dependency of libtorch-dev)
  libopenblas0-openmp     # replaces the reference BLAS libtorch pulls (6 -> ~100 GFLOP/s)
  libtcmalloc-minimal4    # 2-3x faster training steps than glibc malloc
  libgoogle-perftools-dev # tcmalloc's MallocExtension header (the CLI sets its release rate)
  libzip-dev zlib1g-dev
  libprotobuf-dev protobuf-compiler
  libcli11-dev nlohmann-json3-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  python3-numpy python3-scipy   # cross-checks in tests (/usr/bin/python3)
  pybind11-dev python3-dev python3-pytest   # the Python bindings and their pytest suite
  python3-matplotlib      # examples/python (plot of predicted score against runtime)
  clang-format
  clang libclang-rt-14-dev   # libFuzzer + ASan/UBSan for scripts/fuzz.sh (fuzz/)
  gnuplot-nox jq          # the demo's plot (PNG) and JSON-lines -> table conversion
  python3-torch           # the plain-PyTorch peer of bench/peer_compare.sh (../shared/peers)
)

missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
echo "setup: all ${#PKGS[@]} packages present"
