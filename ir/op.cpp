#include "ir/op.h"

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

} // namespace kiln::ir
