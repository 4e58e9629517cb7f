#!/usr/bin/env bash
# Runs an MPI job in which a rank dies and passes when the job stops with an error instead of
# hanging: mpirun must exit non-zero well before the timeout, naming the rank that died.
# Usage: expect_abort.sh <seconds> <mpirun args...>
set -u
limit=$1
shift
log=$(mktemp)
start=$(date +%s)
timeout "$limit" "$@" >"$log" 2>&1
rc=$?
cat "$log"
echo "mpirun exited with $rc after $(($(date +%s) - start)) s"
if [ "$rc" -eq 124 ]; then
  echo "FAILED: the job hung for $limit s after a rank died"
  exit 1
fi
if [ "$rc" -eq 0 ]; then
  echo "FAILED: the job succeeded although rank 1 died"
  exit 1
fi
if ! grep -q "dying in epoch 2" "$log"; then
  echo "FAILED: rank 1 did not get to epoch 2"
  exit 1
fi
if grep -q "trained 1000 epochs" "$log"; then
  echo "FAILED: rank 0 went on training alone"
  exit 1
fi
echo "passed: the job stopped with an error"
