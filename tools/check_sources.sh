#!/usr/bin/env bash
# The source tree's own rules, checked by CI before the tests (.ci/run):
#  1. every C and C++ file is formatted as .clang-format says (clang-format 14, Debian 12's);
#  2. no source file is over 800 lines;
#  3. the folders include each other only along the pipeline's one-way arrows (README, Layout),
#     and MPI and NCCL only inside runtime/.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

if ! command -v clang-format-14 >/dev/null 2>&1 && ! command -v clang-format >/dev/null 2>&1; then
  sudo=""
  if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y --no-install-recommends clang-format-14 \
    >/dev/null || { $sudo apt-get update >/dev/null && \
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y --no-install-recommends clang-format-14 >/dev/null; }
fi
format=$(command -v clang-format-14 || command -v clang-format)

mapfile -t sources < <(git ls-files '*.c' '*.cc' '*.cpp' '*.cu' '*.h' '*.hpp')
status=0

unformatted=()
for f in "${sources[@]}"; do
  "$format" --dry-run --Werror "$f" >/dev/null 2>&1 || unformatted+=("$f")
done
if ((${#unformatted[@]})); then
  echo "check_sources: not clang-formatted (run: $format -i <file>):"
  printf '  %s\n' "${unformatted[@]}"
  status=1
fi

long=$(for f in "${sources[@]}"; do
  n=$(wc -l <"$f")
  if [ "$n" -gt 800 ]; then echo "  $f: $n lines"; fi
done)
if [ -n "$long" ]; then
  echo "check_sources: source files over 800 lines (split them by concept):"
  echo "$long"
  status=1
fi

# Which folders each folder may include ("folder/..." paths); base may include nothing.
declare -A allowed=(
  [base]=""
  [ir]="base"
  [frontend]="base ir"
  [codegen]="base ir"
  [train]="base ir frontend codegen"
  [runtime]="base ir codegen"
  [io]="base ir"
  [plot]="base ir io"
  [trainer]="base ir frontend codegen train runtime io"
  [aot]="base ir frontend codegen train io"
)
for dir in "${!allowed[@]}"; do
  while IFS= read -r line; do
    file=${line%%:*}
    used=$(sed -E 's|.*#include "([a-z_]+)/.*|\1|' <<<"$line")
    [ "$used" = "$dir" ] && continue
    case " ${allowed[$dir]} " in
    *" $used "*) ;;
    *)
      echo "check_sources: $file includes $used/, against the arrows ($dir may use: ${allowed[$dir]:-nothing})"
      status=1
      ;;
    esac
  done < <(git grep -E '^#include "[a-z_]+/' -- "$dir" || true)
done

# The communication libraries stay inside runtime/: MPI in runtime/mpi/, NCCL in runtime/cuda/;
# everything else sees the Communicator of runtime/comm.h. The tests' fake libnccl is NCCL's
# double and takes its signatures from nccl.h (as fake_libcuda.cpp takes cuda.h's).
while IFS= read -r file; do
  echo "check_sources: $file includes MPI or NCCL; only runtime/mpi/ and runtime/cuda/ may"
  status=1
done < <(git grep -lE '^#include <(mpi|nccl)\.h>' -- ':!runtime/mpi' ':!runtime/cuda' \
  ':!tests/trainer/mpi/fake_libnccl.cpp' || true)

if [ "$status" -eq 0 ]; then
  echo "check_sources: ${#sources[@]} files formatted, none over 800 lines, includes follow the arrows"
fi
exit "$status"
