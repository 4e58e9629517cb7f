#!/usr/bin/env bash
# W4 data-parallel scaling: kiln_bench_data_parallel on 1 process (the fused epoch) and on 2 MPI
# ranks (gradients, all-reduce, update), with the machine's measured 1- and 2-thread FP32 peaks,
# written as a markdown table to bench/results/<date>-data-parallel.md.
# Usage: bash bench/scripts/data_parallel.sh [build dir] [epochs]
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
build="${1:-$root/build}"
epochs="${2:-5}"
exe="$build/bench/harness/kiln_bench_data_parallel"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
export OMPI_MCA_btl_vader_single_copy_mechanism=none
out="$root/bench/results/$(date -u +%Y-%m-%d)-data-parallel.md"

load=$(cut -d' ' -f1-3 /proc/loadavg)
# kiln's CPU thread pool: one thread per rank, and one process with one and with two threads.
one=$(KILN_THREADS=1 "$exe" --epochs "$epochs" --peaks)
threads2=$(KILN_THREADS=2 "$exe" --epochs "$epochs")
two=$(mpirun -np 2 --oversubscribe --bind-to none -x KILN_THREADS=1 "$exe" --epochs "$epochs")
peak1=$(sed -nE 's/.*threads=1 ([0-9.]+).*/\1/p' <<<"$one")
peak2=$(sed -nE 's/.*threads=2 ([0-9.]+).*/\1/p' <<<"$one")
field() { sed -nE "s/(^|.* )$1 ([0-9.]+).*/\\2/p" <<<"$2" | tail -1; }
s1=$(field step_ms "$one")
s2=$(field step_ms "$two")
{
  echo "# W4 data-parallel: 1 process and 2 MPI ranks"
  echo
  echo "- date: $(date -u '+%Y-%m-%d %H:%M UTC')"
  echo "- machine: $(sed -nE 's/^model name\s*:\s*//p' /proc/cpuinfo | head -1) (family $(sed -nE 's/^cpu family\s*:\s*//p' /proc/cpuinfo | head -1)$(grep -q avx512f /proc/cpuinfo && echo ', AVX-512')), $(nproc) vCPUs;"
  echo "  load average before the runs: $load (other work shares this VM's vCPUs)"
  echo "- command: \`bash bench/scripts/data_parallel.sh $build $epochs\`"
  echo "  (\`KILN_THREADS=1 kiln_bench_data_parallel --epochs $epochs --peaks\`, the same with"
  echo "  \`KILN_THREADS=2\`, then \`mpirun -np 2 --oversubscribe --bind-to none -x KILN_THREADS=1"
  echo "  kiln_bench_data_parallel --epochs $epochs\`)"
  echo "- workload: 64-256-256-256-256-10 ReLU, cross-entropy, Adam, global batch 1024 over 4096"
  echo "  points (kiln_bench's W4 data), $epochs epochs after one warm-up epoch; the 2 ranks take"
  echo "  512 rows of every batch each"
  echo "- measured FP32 peak (kiln_bench's FMA loop): 1 thread $peak1 GFLOP/s, 2 threads $peak2"
  echo "  GFLOP/s: the most 2 ranks can gain is $(python3 -c "print(f'{$peak2/$peak1:.2f}')")x"
  echo
  echo "| run | ms per step | all-reduce ms per step (in training) | all-reduce alone ms | GFLOP/s | speed-up | scaling efficiency |"
  echo "|---|---|---|---|---|---|---|"
  for run in "1 1" "1 2" "2 1"; do
    read -r r t <<<"$run"
    case "$run" in "1 1") line=$one ;; "1 2") line=$threads2 ;; *) line=$two ;; esac
    s=$(field step_ms "$line")
    python3 -c "
r, t, s, a, b, g, s1 = $r, $t, $s, $(field allreduce_ms "$line"), $(field allreduce_alone_ms "$line"), $(field gflops "$line"), $s1
name = str(r) + (' ranks' if r > 1 else ' rank') + ' x ' + str(t) + (' threads' if t > 1 else ' thread')
print(f'| {name} | {s:.2f} | {a:.3f} | {b:.3f} | {g:.1f} | {s1/s:.2f}x | {100*s1/(r*t*s):.0f} % |')"
  done
  echo
  echo "Raw output:"
  echo
  echo '```'
  echo "$one"
  echo "$threads2"
  echo "$two"
  echo '```'
} >"$out"
cat "$out"
