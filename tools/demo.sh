#!/usr/bin/env bash
# Fresh machine to the demo: installs what is missing, builds, then trains the course's 1D
# regression and 2D classification networks and prints their final metrics, the wall time and
# where the plots are.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/setup.sh"
out="${KILN_DEMO_OUT:-$KILN_ROOT/out/demo}"
start=$(date +%s%N)
for example in regression_1d classification_2d; do
  echo "== $example"
  "$KILN_BUILD_DIR/examples/$example" --out "$out" "$@"
done
end=$(date +%s%N)
ms=$(((end - start) / 1000000))
printf '== demo wall time: %d.%03d s (both examples, compiling included); plots and CSV logs in %s\n' \
  $((ms / 1000)) $((ms % 1000)) "$out"
ls "$out"/*.png | sed 's/^/   /'
