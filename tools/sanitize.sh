#!/usr/bin/env bash
# CI's second build tree: the whole test suite built with AddressSanitizer and
# UndefinedBehaviorSanitizer (gcc, -O1) in ${KILN_ASAN_BUILD_DIR:-build-asan}. A sanitizer report
# (a leak included) fails the test it happens in. The compile_fail tests, which only compile
# (static_assert messages) and run no code, are left to the first build tree. Arguments go to
# ctest.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export KILN_BUILD_DIR="${KILN_ASAN_BUILD_DIR:-$root/build-asan}"
export KILN_CMAKE_ARGS="-DKILN_SANITIZE=address,undefined -DCMAKE_CXX_FLAGS_RELEASE=-O1 -DCMAKE_C_FLAGS_RELEASE=-O1 -DKILN_BUILD_BENCH=OFF ${KILN_CMAKE_ARGS:-}"
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=1:${ASAN_OPTIONS:-}"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:${UBSAN_OPTIONS:-}"
exec bash "$root/tools/test.sh" --label-exclude compile_fail "$@"
