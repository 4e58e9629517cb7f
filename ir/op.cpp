#include "ir/op.h"

#include <algorithm>
#include <vector>

#include "base/error.h"
#include "ir/ops/rules.h"

namespace kiln::ir {

namespace {
const OpDef* const kDefs[] = {
#define KILN_OP_ENTRY(e, s) &k##e##Def,
    KILN_FOR_EACH_OP(KILN_OP_ENTRY)
#undef KILN_OP_ENTRY
};

constexpr Op kAllOps[] = {
#define KILN_OP_ENTRY(e, s) Op::e,
    KILN_FOR_EACH_OP(KILN_OP_ENTRY)
#undef KILN_OP_ENTRY
};

constexpr std::string_view kNames[] = {
#define KILN_OP_ENTRY(e, s) s,
    KILN_FOR_EACH_OP(KILN_OP_ENTRY)
#undef KILN_OP_ENTRY
};
} // namespace

const OpDef& op_def(Op op) {
  return *kDefs[static_cast<size_t>(op)];
}

std::string_view op_name(Op op) {
  return kNames[static_cast<size_t>(op)];
}

std::optional<Op> op_from_name(std::string_view name) {
  for (Op op : kAllOps)
    if (op_name(op) == name)
      return op;
  return std::nullopt;
}

std::span<const Op> all_ops() {
  return kAllOps;
}

std::span<const std::string_view> math_functions() {
  static const std::vector<std::string_view> names = [] {
    std::vector<std::string_view> out;
    for (Op op : kAllOps) {
      std::string_view m = op_def(op).math;
      while (!m.empty()) {
        const size_t end = m.find(' ');
        const std::string_view name = m.substr(0, end);
        if (!name.empty() && std::find(out.begin(), out.end(), name) == out.end())
          out.push_back(name);
        m = end == std::string_view::npos ? std::string_view{} : m.substr(end + 1);
      }
    }
    return out;
  }();
  return names;
}

} // namespace kiln::ir
