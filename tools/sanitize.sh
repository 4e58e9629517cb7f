#!/usr/bin/env bash
# CI's second build tree: kiln built with AddressSanitizer and UndefinedBehaviorSanitizer (gcc,
# -O1) in ${KILN_ASAN_BUILD_DIR:-build-asan}, and the tests of the code that takes outside input
# or manages memory by hand run there. A sanitizer report (a leak included) fails the test it
# happens in. Arguments go to ctest.
#
# CI runs on two cores, where the whole suite under the sanitizers doubled .ci/run's time, so by
# default only these test programs are built and run: the readers (safetensors, IDX, CSV and the
# fuzz corpora's replays), the kernel cache, the JIT and the Executable, the trainers and their
# checkpoints, the ahead-of-time tests (the installed package links the sanitized libraries), the
# CUDA fake driver and emulator (fiber stacks announced to ASan), and the libcuda check. Left out:
# the IR, DSL, codegen and error-message tests (pure computation on kiln's own data structures,
# run by the first build tree), plots, the examples and the compile-only tests.
# KILN_SANITIZE_ALL=1 builds and runs everything but the compile-only tests.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export KILN_BUILD_DIR="${KILN_ASAN_BUILD_DIR:-$root/build-asan}"
export KILN_CMAKE_ARGS="-DKILN_SANITIZE=address,undefined -DCMAKE_CXX_FLAGS_RELEASE=-O1 -DCMAKE_C_FLAGS_RELEASE=-O1 -DKILN_BUILD_BENCH=OFF ${KILN_CMAKE_ARGS:-}"
# intercept_tls_get_addr=0: the sanitizer runtime of gcc 12 misreads glibc's dynamic TLS blocks
# (google/sanitizers#1322), and LeakSanitizer's tracer crashed on one ("Tracer caught signal 11",
# "DTLS 10 at 0x2844") after cuda_executable_fake_test's physics-informed step had passed. The
# thread_local variables of dlopen'd libraries are then not scanned for pointers (a block only
# they point to would be reported as a leak; none is).
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=1:intercept_tls_get_addr=0:${ASAN_OPTIONS:-}"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:${UBSAN_OPTIONS:-}"
if [ "${KILN_SANITIZE_ALL:-0}" = 1 ]; then
  exec bash "$root/tools/test.sh" --label-exclude compile_fail "$@"
fi
programs=(
  base_tests data_test checkpoint_test kernel_cache_test cpu_jit_test executable_tests
  train_tests trainer_tests aot_tests aot_install_test
  cuda_driver_test cuda_fake_driver_test cuda_executable_fake_test cuda_device_error_test
)
replays=(fuzz_safetensors_replay fuzz_idx_replay fuzz_csv_replay fuzz_ir_text_replay
  fuzz_cache_entry_replay)
export KILN_CMAKE_ARGS="$KILN_CMAKE_ARGS -DKILN_BUILD_EXAMPLES=OFF"
export KILN_BUILD_TARGETS="${programs[*]} ${replays[*]} no_libcuda_probe"
exec bash "$root/tools/test.sh" -R "^($(
  IFS='|'
  echo "${programs[*]}"
)|fuzz|linking):" "$@"
