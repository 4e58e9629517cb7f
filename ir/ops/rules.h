#pragma once
// Shared pieces for the OpDefs in ir/ops/*.cpp: common shape rules and accessors that let a
// derivative rule read like its math.

#include <initializer_list>
#include <vector>

#include "base/error.h"
#include "ir/op.h"
#include "ir/val.h"

namespace kiln::ir {

// Every OpDef, declared so that op.cpp can build the registry table (external linkage).
#define KILN_OP_DECLARE(e, s) extern const OpDef k##e##Def;
KILN_FOR_EACH_OP(KILN_OP_DECLARE)
#undef KILN_OP_DECLARE

namespace rules {

/** All operands share one type; the result has it. */
Type same_type(const InferCtx& c);
/** Like same_type, and the dtype must be f32 or f64. */
Type same_float_type(const InferCtx& c);
/** Throws ShapeError unless operand `i` has a float dtype. */
void require_float(const InferCtx& c, size_t i);
/** Throws ShapeError unless operand `i` has an integer dtype. */
void require_int(const InferCtx& c, size_t i);
/** Normalized, checked axis list of attribute `key` for an operand of rank `rank`. */
std::vector<int64_t> axes_attr(const InferCtx& c, const char* key, int rank);
/** The dtype named by attribute "dtype". */
DType dtype_attr(std::string_view op, const Attrs& attrs);

inline Val in(const VjpCtx& c, size_t i) {
  return {c.b, c.b.node(c.self).inputs[i]};
}
inline Val out(const VjpCtx& c) {
  return {c.b, c.self};
}
inline Val grad(const VjpCtx& c) {
  return {c.b, c.cotangent};
}
inline Attrs attrs(const VjpCtx& c) {
  return c.b.node(c.self).attrs;
}

/** Collects gradients; a default-constructed entry means "no gradient". */
inline std::vector<NodeId> grads(std::initializer_list<Val> gs) {
  std::vector<NodeId> out;
  for (const Val& g : gs)
    out.push_back(g.id());
  return out;
}

} // namespace rules
} // namespace kiln::ir
