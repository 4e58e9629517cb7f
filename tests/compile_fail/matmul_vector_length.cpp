// A * v of a matrix and a vector: A's columns must equal v's length.
#include "frontend/ops.h"

void build() {
  kiln::Param<3, 4> A("A");
#ifdef KILN_SHOULD_FAIL_TO_BUILD
  kiln::Param<5> v("v");
#else
  kiln::Param<4> v("v");
#endif
  auto w = A * v;
  (void)w;
}
