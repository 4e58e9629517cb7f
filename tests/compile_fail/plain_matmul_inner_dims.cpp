// kiln::matmul is the plain product: A's columns must equal B's rows, even when B is a batch.
#include "frontend/ops.h"

void build() {
  kiln::Param<3, 2> A("A");
#ifdef KILN_SHOULD_FAIL_TO_BUILD
  kiln::Input<2> B("y"); // [N, 2]: a plain product would need A to have N columns
#else
  kiln::Param<2, 5> B("B");
#endif
  auto C = kiln::matmul(A, B);
  (void)C;
}
