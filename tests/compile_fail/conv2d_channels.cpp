// conv2d(x, w) with static dims: the weight's input channels must be the images' channels.
#include "frontend/image.h"

void build() {
  kiln::Input<3, 8, 8> x("x");
#ifdef KILN_SHOULD_FAIL_TO_BUILD
  kiln::Param<4, 2, 3, 3> w("w");
#else
  kiln::Param<4, 3, 3, 3> w("w");
#endif
  auto y = kiln::conv2d(x, w);
  (void)y;
}
