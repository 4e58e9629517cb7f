// A loss compares a prediction with a target of the same shape.
#include "frontend/losses.h"

void build() {
  kiln::Input<2> y("y");
  kiln::Param<3, 2> W("W");
#ifdef KILN_SHOULD_FAIL_TO_BUILD
  kiln::Target<2> c("c");
#else
  kiln::Target<3> c("c");
#endif
  auto loss = kiln::least_squares(W * y, c);
  (void)loss;
}
