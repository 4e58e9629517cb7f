#include "codegen/counter_hash.h"

namespace kiln::codegen {

std::string counter_hash_source(std::string_view qualifier) {
  const std::string q(qualifier);
  // kiln_dropout(x, step, i, seed, p): x / (1 - p) where the hash of (seed, step, i) clears
  // floor(p 2^32), else 0 (base/counter_hash.h: dropout_key, dropout_keeps).
  std::string s = q + R"KILN( unsigned kiln_pcg_hash(unsigned v) {
  const unsigned state = v * 747796405u + 2891336453u;
  const unsigned word = ((state >> ((state >> 28u) + 4u)) ^ state) * 277803737u;
  return (word >> 22u) ^ word;
}
)KILN";
  for (const char* t : {"float", "double"})
    s += q + " " + t + " kiln_dropout(" + t +
         R"KILN( x, int step, unsigned i, unsigned seed, double p) {
  const unsigned key = kiln_pcg_hash((unsigned)step + kiln_pcg_hash(seed));
  const bool keep = kiln_pcg_hash(kiln_pcg_hash(i) + key) >= (unsigned)(p * 4294967296.0);
  return keep ? x * ()KILN" +
         t + ")(1.0 / (1.0 - p)) : (" + t + ")0;\n}\n";
  return s;
}

} // namespace kiln::codegen
