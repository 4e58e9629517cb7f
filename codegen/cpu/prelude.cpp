#include "codegen/counter_hash.h"
#include "codegen/cpu/renderer.h"
#include "codegen/prelude/kiln_math_source.h"

namespace kiln::codegen {

const std::string& cpu_prelude() {
  static const std::string s = kKilnMathSource + counter_hash_source("static inline");
  return s;
}

} // namespace kiln::codegen
