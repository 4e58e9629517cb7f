// Elementwise operands must have equal or broadcastable shapes.
#include "frontend/ops.h"

void build() {
  kiln::Input<2> y("y");
#ifdef KILN_SHOULD_FAIL_TO_BUILD
  kiln::Param<3> b("b");
#else
  kiln::Param<2> b("b");
#endif
  auto s = y + b;
  (void)s;
}
