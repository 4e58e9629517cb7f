#!/usr/bin/env bash
# Fresh machine to the demo: installs what is missing, builds, runs the demo.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/setup.sh"
"$KILN_BUILD_DIR/examples/demo" "$@"
