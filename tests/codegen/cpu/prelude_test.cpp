// trim_prelude: a kernel compiled by the JIT carries only the prelude functions it calls (and
// theirs); the op table through the JIT (cpu_kernel_test.cpp) checks that nothing needed goes.

#include <catch2/catch.hpp>

#include "codegen/cpu/renderer.h"
#include "frontend/kiln.h"
#include "ir/passes.h"

using namespace kiln;

TEST_CASE("a kernel's prelude keeps only the functions it calls") {
  Input y{{3}, "y"};
  const Lowered l = lower({{"u", tanh(y)}});
  const codegen::CpuKernel k = codegen::render_cpu(ir::optimize(l.graph));
  const std::string trimmed = codegen::trim_prelude(k.source);
  CHECK(trimmed.size() < k.source.size());
  CHECK(trimmed.find("static inline float kiln_tanh(float x)") != std::string::npos);
  CHECK(trimmed.find("static inline float expm1_core(float x)") != std::string::npos); // tanh's
  CHECK(trimmed.find("kiln_erf(float x) {") == std::string::npos);
  CHECK(trimmed.find("kiln_pow(float x, float y) {") == std::string::npos);
  CHECK(trimmed.find("using kiln_math::kiln_tanh;") != std::string::npos);
  // Everything after the prelude is untouched; a source without it is returned as it is.
  CHECK(trimmed.substr(trimmed.size() - 200) == k.source.substr(k.source.size() - 200));
  CHECK(codegen::trim_prelude("int x;") == "int x;");
}
