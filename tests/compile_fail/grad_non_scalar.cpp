// grad() differentiates a scalar; a per-sample output must be reduced first.
#include "frontend/ops.h"

void build() {
  kiln::Input<1> x("x");
  kiln::Param<1, 1> W("W");
  auto u = kiln::tanh(W * x);
#ifdef KILN_SHOULD_FAIL_TO_BUILD
  auto du = kiln::grad(u, x);
#else
  auto du = kiln::grad(kiln::sum(u), x);
#endif
  (void)du;
}
