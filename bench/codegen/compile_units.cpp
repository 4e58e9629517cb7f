// compile_units: how long the CPU JIT takes to build sources dumped with KILN_DUMP_DIR, with no
// kernel cache, so that a change to the generated code can be measured on its own. The files
// are the units of one module (a split step: `<name>.cpp <name>_part1.cpp ...`), compiled side
// by side as Executable does. Each unit runs clang's -O2 pipeline unless --passes names the
// pipeline of each unit in order (`kernel` or `clang`): Executable runs `kernel` on unit 0 of a
// split row-block step (CpuKernel::vectorizer_only), `--passes kernel,clang`.
//
//   compile_units [--reps R] [--passes P,P...] [--flag F]... unit.cpp [unit_part1.cpp ...]
//
// Prints the minimum and median wall time of R compiles (after one warm-up). Under valgrind
// (`valgrind --tool=callgrind compile_units --reps 1 --flag -march=icelake-client ...`) the
// instruction count is a measure of compile work that does not drift with the machine's speed;
// valgrind hides AVX-512 from CPUID, hence the explicit -march.

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "runtime/cpu/cpu_jit.h"

int main(int argc, char** argv) {
  int reps = 7;
  kiln::runtime::CpuCompileOptions options{.name = "units"};
  std::vector<std::string> sources;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--reps" && i + 1 < argc) {
      reps = std::max(1, std::atoi(argv[++i]));
    } else if (a == "--passes" && i + 1 < argc) {
      std::stringstream list(argv[++i]);
      for (std::string p; std::getline(list, p, ',');) {
        if (p != "kernel" && p != "clang") {
          std::fprintf(stderr, "compile_units: --passes takes kernel or clang, got %s\n",
                       p.c_str());
          return 2;
        }
        options.unit_passes.push_back(p == "kernel" ? kiln::runtime::CpuPasses::Kernel
                                                    : kiln::runtime::CpuPasses::Clang);
      }
    } else if (a == "--flag" && i + 1 < argc) {
      options.extra_flags.emplace_back(argv[++i]);
    } else {
      std::ifstream in(a);
      if (!in) {
        std::fprintf(stderr, "compile_units: cannot read %s\n", a.c_str());
        return 2;
      }
      std::stringstream text;
      text << in.rdbuf();
      sources.push_back(text.str());
    }
  }
  if (sources.empty()) {
    std::fprintf(stderr, "usage: compile_units [--reps R] [--passes P,P...] [--flag F]... "
                         "unit.cpp [unit_part1.cpp ...]\n");
    return 2;
  }
  auto& jit = kiln::runtime::CpuJit::instance();
  std::vector<double> ms;
  for (int r = 0; r <= reps; ++r) {
    const auto start = std::chrono::steady_clock::now();
    try {
      jit.compile(sources, options, nullptr);
    } catch (const std::exception& e) { // a CompileError carries clang's log and the source path
      std::fprintf(stderr, "compile_units: %s\n", e.what());
      return 1;
    }
    const std::chrono::duration<double, std::milli> took = std::chrono::steady_clock::now() - start;
    if (r > 0) // the first compile also pays for LLVM's one-time set-up
      ms.push_back(took.count());
  }
  std::sort(ms.begin(), ms.end());
  std::printf("%zu unit(s), %d compiles: min %.1f ms, median %.1f ms\n", sources.size(), reps,
              ms.front(), ms[ms.size() / 2]);
}
