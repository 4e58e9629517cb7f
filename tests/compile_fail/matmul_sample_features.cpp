// K * y with y a batch: K's columns must equal the features of each sample.
#include "frontend/ops.h"

void build() {
  kiln::Param<14, 2> K("K");
#ifdef KILN_SHOULD_FAIL_TO_BUILD
  kiln::Input<3> y("y");
#else
  kiln::Input<2> y("y");
#endif
  auto F = K * y;
  (void)F;
}
