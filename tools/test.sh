#!/usr/bin/env bash
# Fresh machine to green tests: installs what is missing, builds, runs the whole test suite.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/setup.sh"
cd "$KILN_BUILD_DIR"
ctest --output-on-failure -j "${KILN_JOBS:-$(nproc)}" "$@"
