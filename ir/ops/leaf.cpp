// Leaves: values that come from outside the graph. Their type is declared, not inferred; the
// interpreter and the runtime bind their values by name.

#include "ir/ops/rules.h"

namespace kiln::ir {

/** A scalar splatted to the declared shape. */
const OpDef kConstantDef{
    .name = "constant", .kind = OpKind::Leaf, .arity = 0, .differentiable = false};
/** Data fed per call (features, targets, labels). */
const OpDef kInputDef{.name = "input", .kind = OpKind::Leaf, .arity = 0, .differentiable = false};
/** Trainable weights, owned by the runtime between calls. */
const OpDef kParamDef{.name = "param", .kind = OpKind::Leaf, .arity = 0, .differentiable = false};

} // namespace kiln::ir
