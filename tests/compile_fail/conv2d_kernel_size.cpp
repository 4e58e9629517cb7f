// conv2d(x, w) with static dims: the kernel must fit in the image.
#include "frontend/image.h"

void build() {
  kiln::Input<1, 5, 5> x("x");
#ifdef KILN_SHOULD_FAIL_TO_BUILD
  kiln::Param<2, 1, 3, 6> w("w");
#else
  kiln::Param<2, 1, 3, 5> w("w");
#endif
  auto y = kiln::conv2d(x, w);
  (void)y;
}
