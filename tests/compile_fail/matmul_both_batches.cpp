// y * z of two batches is not a matrix product (kiln::mul is the elementwise one).
#include "frontend/ops.h"

void build() {
  kiln::Input<2> y("y");
  kiln::Input<2> z("z");
#ifdef KILN_SHOULD_FAIL_TO_BUILD
  auto p = y * z;
#else
  auto p = kiln::mul(y, z);
#endif
  (void)p;
}
