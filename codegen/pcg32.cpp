#include "codegen/pcg32.h"

namespace kiln::codegen {

std::string pcg32_source(std::string_view qualifier) {
  const std::string q(qualifier);
  return "typedef struct { unsigned long long state; } kiln_pcg32;\n" + q +
         R"KILN( unsigned kiln_pcg32_next(kiln_pcg32* r) {
  const unsigned long long old = r->state;
  r->state = old * 6364136223846793005ULL + 1ULL;
  const unsigned x = (unsigned)(((old >> 18u) ^ old) >> 27u);
  const unsigned rot = (unsigned)(old >> 59u);
  return (x >> rot) | (x << ((32u - rot) & 31u));
}
)KILN" + q +
         R"KILN( kiln_pcg32 kiln_pcg32_seed(unsigned long long seed) {
  kiln_pcg32 r = {0ULL};
  kiln_pcg32_next(&r);
  r.state += seed;
  kiln_pcg32_next(&r);
  return r;
}
)KILN" + q +
         R"KILN( unsigned kiln_pcg32_below(kiln_pcg32* r, unsigned n) {
  unsigned long long m = (unsigned long long)kiln_pcg32_next(r) * n;
  unsigned l = (unsigned)m;
  if (l < n) {
    const unsigned t = (0u - n) % n;
    while (l < t) {
      m = (unsigned long long)kiln_pcg32_next(r) * n;
      l = (unsigned)m;
    }
  }
  return (unsigned)(m >> 32);
}
)KILN";
}

} // namespace kiln::codegen
