// cross_entropy needs one network output per class of the labels.
#include "frontend/losses.h"

void build() {
  kiln::Input<2> y("y");
  kiln::Param<3, 2> W("W");
#ifdef KILN_SHOULD_FAIL_TO_BUILD
  kiln::Labels<4> c("c");
#else
  kiln::Labels<3> c("c");
#endif
  auto loss = kiln::cross_entropy(W * y, c);
  (void)loss;
}
