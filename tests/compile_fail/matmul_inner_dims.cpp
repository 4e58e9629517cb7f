// A * B of two matrices: A's columns must equal B's rows.
#include "frontend/ops.h"

void build() {
  kiln::Param<3, 4> A("A");
#ifdef KILN_SHOULD_FAIL_TO_BUILD
  kiln::Param<5, 2> B("B");
#else
  kiln::Param<4, 2> B("B");
#endif
  auto C = A * B;
  (void)C;
}
