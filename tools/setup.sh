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
  libcli11-dev fonts-dejavu-core libopenmpi-dev openmpi-bin
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
if ((${#missing[@]})); then
  echo "kiln setup: installing ${missing[*]}"
  sudo=""
  if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
  export DEBIAN_FRONTEND=noninteractive
  if ! $sudo apt-get install -y --no-install-recommends "${missing[@]}"; then
    $sudo apt-get update
    $sudo apt-get install -y --no-install-recommends "${missing[@]}"
  fi
fi

mkdir -p "$KILN_BUILD_DIR"
cmake -S "$KILN_ROOT" -B "$KILN_BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=Release \
  ${KILN_CMAKE_ARGS:-} >"$KILN_BUILD_DIR/configure.log" 2>&1 || {
  cat "$KILN_BUILD_DIR/configure.log"
  exit 1
}
cmake --build "$KILN_BUILD_DIR" -j "${KILN_JOBS:-$(nproc)}"
