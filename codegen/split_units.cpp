#include "codegen/split_units.h"

#include <algorithm>
#include <set>

namespace kiln::codegen {

std::vector<size_t> unit_starts(const SharedGroups& shared, int max_units) {
  constexpr int64_t kMinUnitLines = 80;
  auto lines = [](const std::string& t) {
    return static_cast<int64_t>(std::count(t.begin(), t.end(), '\n'));
  };
  int64_t total = 0;
  for (size_t i = 0; i < shared.blocks.size(); ++i)
    total += lines(shared.blocks[i]);
  for (const auto& [name, text] : shared.function_text)
    total += lines(text);
  const int64_t units =
      std::clamp<int64_t>(std::min<int64_t>(max_units, total / kMinUnitLines), 1,
                          static_cast<int64_t>(std::max<size_t>(shared.blocks.size(), 1)));
  std::vector<size_t> starts{0};
  int64_t done = 0;
  std::set<std::string> used;
  for (size_t i = 0; i < shared.blocks.size(); ++i) {
    // A new unit starts once this one holds its share of what is left.
    if (i > 0 && static_cast<int64_t>(starts.size()) < units &&
        done * (units - static_cast<int64_t>(starts.size()) + 1) >= total) {
      total -= done;
      done = 0;
      used.clear();
      starts.push_back(i);
    }
    done += lines(shared.blocks[i]);
    if (!shared.calls[i].empty() && used.insert(shared.calls[i]).second)
      done += lines(shared.function_text.at(shared.calls[i]));
  }
  return starts;
}

} // namespace kiln::codegen
