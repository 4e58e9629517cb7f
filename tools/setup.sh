#!/usr/bin/env bash
# Installs kiln's Debian packages where they are missing (quick no-op when all are present),
# then configures and builds kiln with Ninja into ${KILN_BUILD_DIR:-build}.
# Sourced by tools/demo.sh and tools/test.sh.
set -euo pipefail

KILN_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
KILN_BUILD_DIR="${KILN_BUILD_DIR:-$KILN_ROOT/build}"

packages=(
  build-essential cmake ninja-build pkg-config
  llvm-14-dev libclang-14-dev libclang-cpp14-dev clang-14
  libeigen3-dev catch2 libbenchmark-dev libstb-dev zlib1g-dev nlohmann-json3-dev
  libcli11-dev fonts-dejavu-core libxxhash-dev libopenmpi-dev openmpi-bin
  dataset-fashion-mnist # examples/mnist_cnn --data /usr/share/datasets/fashion-mnist (data only, ~30 MB)
)

source "$KILN_ROOT/tools/apt.sh"
kiln_apt_install "${packages[@]}"

mkdir -p "$KILN_BUILD_DIR"
cmake -S "$KILN_ROOT" -B "$KILN_BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=Release \
  ${KILN_CMAKE_ARGS:-} >"$KILN_BUILD_DIR/configure.log" 2>&1 || {
  cat "$KILN_BUILD_DIR/configure.log"
  exit 1
}
# KILN_BUILD_TARGETS (space-separated) builds only those targets instead of all of them.
cmake --build "$KILN_BUILD_DIR" -j "${KILN_JOBS:-$(nproc)}" ${KILN_BUILD_TARGETS:+--target $KILN_BUILD_TARGETS}
