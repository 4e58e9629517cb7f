#include "codegen/split_units.h"

#include <algorithm>
#include <set>
#include <string_view>

#include "ir/op.h"

namespace kiln::codegen {

namespace {

// A call of one of the math prelude's polynomials (the ops' `math` functions) inlines a
// polynomial, vectorized where its loop is, so a line with one costs clang several times an
// ordinary line.
constexpr int64_t kMathCallCost = 4;

} // namespace

int64_t compile_cost(const std::string& text) {
  int64_t c = static_cast<int64_t>(std::count(text.begin(), text.end(), '\n'));
  for (std::string_view fn : ir::math_functions()) {
    const std::string call = std::string(fn) + "(";
    for (size_t pos = text.find(call); pos != std::string::npos; pos = text.find(call, pos + 1))
      c += kMathCallCost;
  }
  return c;
}

std::vector<size_t> unit_starts(const SharedGroups& shared, int max_units) {
  std::vector<int64_t> block_cost;
  int64_t total = 0;
  for (const std::string& b : shared.blocks)
    total += block_cost.emplace_back(compile_cost(b));
  std::map<std::string, int64_t> function_cost;
  for (const auto& [name, text] : shared.function_text)
    total += function_cost[name] = compile_cost(text);
  const int64_t units =
      std::clamp<int64_t>(std::min<int64_t>(max_units, total / kMinUnitCost), 1,
                          static_cast<int64_t>(std::max<size_t>(shared.blocks.size(), 1)));
  std::vector<size_t> starts{0};
  int64_t done = 0;
  std::set<std::string> used;
  for (size_t i = 0; i < shared.blocks.size(); ++i) {
    int64_t c = block_cost[i];
    const std::string& fn = shared.calls[i];
    if (!fn.empty() && !used.count(fn))
      c += function_cost.at(fn);
    // A new unit starts where this one would pass its share of what is left by more than
    // half of the next block.
    const int64_t left = units - static_cast<int64_t>(starts.size()) + 1;
    if (done > 0 && left > 1 && (2 * done + c) * left >= 2 * total) {
      total -= done;
      done = 0;
      used.clear();
      starts.push_back(i);
      c = block_cost[i] + (fn.empty() ? 0 : function_cost.at(fn));
    }
    done += c;
    if (!fn.empty())
      used.insert(fn);
  }
  return starts;
}

} // namespace kiln::codegen
