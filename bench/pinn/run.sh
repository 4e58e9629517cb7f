#!/usr/bin/env bash
# W6 side by side: kiln_bench's W6 benchmarks and the JAX/PyTorch peers of the same step
# (heat_peer.py), alternating for ROUNDS rounds so that the machine's drift hits both alike; the
# table (medians over rounds of wall and CPU time, the FP32 peak, versions, machine, date) goes
# to stdout, the raw JSON to $OUT (default: a temporary folder).
#
#   python3 -m venv /tmp/peers && /tmp/peers/bin/pip install 'jax[cpu]' torch
#   PEER_PYTHON=/tmp/peers/bin/python bash bench/pinn/run.sh > bench/results/DATE-w6.md
#
# Environment: BUILD (default build), ROUNDS (3), SECONDS_PER_VARIANT (2), PEER_PYTHON (python3).
set -euo pipefail
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
ROUNDS=${ROUNDS:-3}
PY=${PEER_PYTHON:-python3}
OUT=${OUT:-$(mktemp -d)}
mkdir -p "$OUT"
bench="$BUILD/bench/harness/kiln_bench"
[[ -x $bench ]] || { echo "run.sh: no $bench (build kiln_bench first)" >&2; exit 2; }
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
for r in $(seq 1 "$ROUNDS"); do
  KILN_BENCH_REPETITIONS=3 "$bench" --benchmark_filter='^W6_|^peak_fp32' \
    --benchmark_out="$OUT/kiln-$r.json" --benchmark_out_format=json > "$OUT/kiln-$r.log" 2>&1
  "$PY" bench/pinn/heat_peer.py --both --seconds "${SECONDS_PER_VARIANT:-2}" > "$OUT/peer-$r.json"
done
python3 bench/pinn/summarize.py "$OUT" "$ROUNDS" "$load_before"
