#include "codegen/cpu/gradient_ready.h"

#include <algorithm>

namespace kiln::codegen {

std::vector<std::vector<int>> gradients_ready_after(const Schedule& sc, bool row_blocks) {
  const size_t end = sc.groups.size();
  std::vector<std::vector<int>> after(end + 1);
  // A gradient read outside its own group (by a later group, or inlined into one: e.g. a norm)
  // is reported at the end, since the runtime may overwrite it in place once it is reported.
  std::vector<bool> read_elsewhere(sc.graph.size(), false);
  for (size_t n = 0; n < sc.graph.size(); ++n)
    for (ir::NodeId in : sc.graph.node(static_cast<ir::NodeId>(n)).inputs)
      if (sc.group_of[n] != sc.group_of[in] || sc.group_of[n] < 0)
        read_elsewhere[in] = true;
  for (const auto& [slot, node] : sc.output_copies) // the step's tail copies it
    read_elsewhere[node] = true;
  for (size_t i = 0; i < sc.slots.size(); ++i) {
    const Slot& s = sc.slots[i];
    if (s.role != Slot::Role::Output || !s.name.starts_with("grad:"))
      continue;
    const bool copied = std::any_of(sc.output_copies.begin(), sc.output_copies.end(),
                                    [&](const auto& c) { return c.first == static_cast<int>(i); });
    const int g = sc.group_of[s.node];
    after[row_blocks || copied || read_elsewhere[s.node] || g < 0 ? end : static_cast<size_t>(g)]
        .push_back(static_cast<int>(i));
  }
  return after;
}

std::string gradient_ready_calls(const Schedule& sc, const std::vector<int>& slots) {
  std::string out;
  for (int s : slots)
    out += "// " + sc.slots[static_cast<size_t>(s)].name + " is final\nkiln_gradient_ready(" +
           std::to_string(s) + ");\n";
  return out;
}

std::string gradient_ready_source(const std::string& symbol) {
  return "struct kiln_ready_api {\n  void (*ready)(void*, int);\n  void* context;\n};\n"
         "extern \"C\" const kiln_ready_api* " +
         symbol +
         ";\n"
         "static inline void kiln_gradient_ready(int slot) {\n  const kiln_ready_api* r = " +
         symbol + ";\n  if (r)\n    r->ready(r->context, slot);\n}\n";
}

std::string gradient_ready_definition(const std::string& symbol) {
  return "extern \"C\" const kiln_ready_api* " + symbol + " = 0;\n";
}

} // namespace kiln::codegen
