// The left operand of a matrix product must be a matrix.
#include "frontend/ops.h"

void build() {
  kiln::Param<3, 3> A("A");
#ifdef KILN_SHOULD_FAIL_TO_BUILD
  kiln::Param<3> v("v");
  auto w = v * A;
#else
  kiln::Param<3> v("v");
  auto w = A * v;
#endif
  (void)w;
}
