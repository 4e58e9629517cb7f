#include "codegen/group_emitter.h"

#include "base/error.h"

namespace kiln::codegen {

void GroupEmitter::store(ir::NodeId n, const Index& idx, const std::string& v) {
  if (!sc_.stored[n])
    return;
  w_.line(e_.element(n, idx) + " = " + v + ";");
}

void GroupEmitter::roots_at(const Group& grp, size_t first, const Index& idx) {
  std::vector<std::string> values;
  for (size_t r = first; r < grp.roots.size(); ++r)
    values.push_back(e_.compute(grp.roots[r], idx));
  for (size_t r = first; r < grp.roots.size(); ++r)
    store(grp.roots[r], idx, values[r - first]);
}

void GroupEmitter::finish_root(const Group& grp, ir::NodeId r, const Index& idx,
                               const std::string& value) {
  e_.bind(r, idx, value);
  store(r, idx, value);
  roots_at(grp, 1, idx);
}

std::string GroupEmitter::title(const Group& grp) const {
  std::string s = str("// ", grp.domain, ":");
  for (ir::NodeId r : grp.roots)
    s += str(" ", ir::op_name(g_.node(r).op), " %", r, sc_.stored[r] ? "*" : "");
  return s;
}

} // namespace kiln::codegen
