#include "train/loss.h"

#include "frontend/losses.h"

namespace kiln {

Loss Loss::mse() {
  return {"mse", [](const Expr& f, const Expr& c) -> Expr { return kiln::mse(f, c); }, false};
}
Loss Loss::least_squares() {
  return {"least_squares",
          [](const Expr& f, const Expr& c) -> Expr { return kiln::least_squares(f, c); }, false};
}
Loss Loss::cross_entropy() {
  return {"cross_entropy",
          [](const Expr& f, const Expr& c) -> Expr { return kiln::cross_entropy(f, c); }, true};
}

} // namespace kiln
