#!/usr/bin/env bash
# CI's fuzz step. Builds the fuzz targets of tests/fuzz as libFuzzer programs (clang 14,
# -fsanitize=fuzzer with ASan and UBSan) in ${KILN_FUZZ_BUILD_DIR:-build-fuzz}, checks that a
# clang-linked program does not need libcuda.so.1 either (tests/linking), then runs each target
# for ${KILN_FUZZ_SECONDS:-30} seconds from its committed corpus. A finding stops CI and names
# the input that caused it: add it to tests/fuzz/regressions/<target>/ (every build replays those,
# ctest fuzz:<target>), turn it into a test beside the code, and fix the code.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
dir="${KILN_FUZZ_BUILD_DIR:-$root/build-fuzz}"
seconds="${KILN_FUZZ_SECONDS:-30}"
targets=(safetensors idx csv ir_text cache_entry)

source "$root/tools/apt.sh"
# libclang-rt-14-dev: libFuzzer and the sanitizers' run-time libraries for clang 14.
kiln_apt_install clang-14 libclang-rt-14-dev llvm-14

mkdir -p "$dir"
cmake -S "$root" -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_C_COMPILER=clang-14 -DCMAKE_CXX_COMPILER=clang++-14 \
  -DKILN_FUZZ=ON -DKILN_SANITIZE=address,undefined,fuzzer-no-link \
  -DKILN_BUILD_BENCH=OFF -DKILN_BUILD_EXAMPLES=OFF >"$dir/configure.log" 2>&1 || {
  cat "$dir/configure.log"
  exit 1
}
cmake --build "$dir" -j "${KILN_JOBS:-$(nproc)}" --target no_libcuda_probe \
  "${targets[@]/#/fuzz_}"
(cd "$dir" && ctest -R '^linking:' --output-on-failure)

export ASAN_OPTIONS="detect_leaks=1:${ASAN_OPTIONS:-}"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:${UBSAN_OPTIONS:-}"
for t in "${targets[@]}"; do
  work="$dir/fuzz/$t" findings="$dir/fuzz/findings"
  mkdir -p "$work" "$findings"
  corpora=("$root/tests/fuzz/corpus/$t")
  if [ -d "$root/tests/fuzz/regressions/$t" ]; then corpora+=("$root/tests/fuzz/regressions/$t"); fi
  echo "fuzz: $t for ${seconds} s"
  if ! "$dir/tests/fuzz/fuzz_$t" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
    -max_len=4096 -print_final_stats=1 -artifact_prefix="$findings/$t-" \
    "$work" "${corpora[@]}" >"$dir/fuzz/$t.log" 2>&1; then
    tail -n 60 "$dir/fuzz/$t.log"
    echo "fuzz: $t found an input that fails: $(ls -t "$findings"/"$t"-* 2>/dev/null | head -1)"
    echo "fuzz: add it to tests/fuzz/regressions/$t/, write a test for it and fix the code"
    exit 1
  fi
  grep -E '^stat::number_of_executed_runs|^#[0-9]+.*DONE' "$dir/fuzz/$t.log" | tail -2 || true
done
