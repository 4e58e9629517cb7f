// A tour of the IR: the course's network F(y) = W tanh(K y + b) with a cross-entropy
// loss, lowered to IR, differentiated symbolically, optimized, and written as Graphviz.

#include <cstdio>
#include <fstream>
#include <string>

#include "frontend/kiln.h"
#include "ir/autodiff.h"
#include "ir/passes.h"
#include "ir/print.h"

int main(int argc, char** argv) {
  const std::string dot_path = argc > 1 ? argv[1] : "ir_tour.dot";

  kiln::Input y{{2}, "y"};
  kiln::Labels c{3, "c"};
  kiln::Param K{{14, 2}, "K"}, b{{14}, "b"}, W{{3, 14}, "W"};
  auto F = W * kiln::tanh(K * y + b);
  auto loss = kiln::cross_entropy(F, c);

  const kiln::Lowered net = kiln::lower({{"loss", loss}});
  std::printf("== F(y) = W tanh(K y + b), cross-entropy loss: IR ==\n%s\n",
              kiln::ir::to_text(net.graph).c_str());

  const kiln::ir::Graph grads = kiln::ir::grad(net.graph, "loss", {"K", "b", "W", "y"});
  const kiln::ir::Graph optimized = kiln::ir::optimize(grads);
  std::printf("== loss and its gradients with respect to K, b, W and y (optimized) ==\n%s\n",
              kiln::ir::to_text(optimized).c_str());

  std::ofstream(dot_path) << kiln::ir::to_dot(optimized, "F(y) = W tanh(K y + b): gradients");
  std::printf("%zu nodes before optimization, %zu after. Graphviz: %s (render with: dot -Tpng %s "
              "-o ir_tour.png)\n",
              grads.size(), optimized.size(), dot_path.c_str(), dot_path.c_str());
  return 0;
}
