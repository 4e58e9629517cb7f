#pragma once
// Shared pieces for the OpDefs in ir/ops/*.cpp: common shape rules and accessors that let a
// derivative rule read like its math.

#include <initializer_list>
#include <optional>
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

// Forward-mode rules read like their math too: dot(c, i) is operand i's tangent, tangent(c, i)
// the same or nullopt when it is zero, sum_of() adds the terms present.
inline Val in(const JvpCtx& c, size_t i) {
  return {c.b, c.b.node(c.self).inputs[i]};
}
inline Val out(const JvpCtx& c) {
  return {c.b, c.self};
}
inline Attrs attrs(const JvpCtx& c) {
  return c.b.node(c.self).attrs;
}
inline std::optional<Val> tangent(const JvpCtx& c, size_t i) {
  return c.tangents[i] == kNoGrad ? std::nullopt : std::optional<Val>(Val(c.b, c.tangents[i]));
}
/** The tangent of operand i of a rule that has one for sure (a unary op's). */
inline Val dot(const JvpCtx& c, size_t i) {
  KILN_ASSERT(c.tangents[i] != kNoGrad, "jvp of ", c.b.node(c.self).def().name, ": operand ", i,
              " has no tangent");
  return {c.b, c.tangents[i]};
}
/** f(tangent of operand i), or nullopt when operand i's tangent is zero. */
template <class F>
std::optional<Val> with(const JvpCtx& c, size_t i, F f) {
  const std::optional<Val> t = tangent(c, i);
  return t ? std::optional<Val>(f(*t)) : std::nullopt;
}
/** The sum of the terms present, as a rule's result (kNoGrad when none is). */
inline NodeId sum_of(std::initializer_list<std::optional<Val>> terms) {
  std::optional<Val> total;
  for (const std::optional<Val>& t : terms)
    if (t)
      total = total ? *total + *t : *t;
  return total ? total->id() : kNoGrad;
}
/** A zero tangent for operand i: a constant of its type. */
inline Val zero_like_in(const JvpCtx& c, size_t i) {
  return constant_like(in(c, i), 0.0);
}
/** Operand i's tangent, or zeros of its type where it has none (for ops that need all). */
inline Val dot_or_zero(const JvpCtx& c, size_t i) {
  const std::optional<Val> t = tangent(c, i);
  return t ? *t : zero_like_in(c, i);
}

/**
 * The rule of an op that is linear in each of the operands `linear` (the others, such as a max
 * pool's keys or a dropout's step, have no tangent that matters): the sum over those with a
 * tangent of the same op, same attributes, with that operand replaced by its tangent.
 */
inline NodeId multilinear_jvp(const JvpCtx& c, std::initializer_list<size_t> linear) {
  const Node& n = c.b.node(c.self);
  std::vector<Val> operands;
  for (NodeId id : n.inputs)
    operands.emplace_back(c.b, id);
  std::optional<Val> total;
  for (size_t i : linear) {
    const std::optional<Val> t = tangent(c, i);
    if (!t)
      continue;
    std::vector<Val> with_t = operands;
    with_t[i] = *t;
    const Val term = apply(n.op, with_t, n.attrs);
    total = total ? *total + term : term;
  }
  return total ? total->id() : kNoGrad;
}

} // namespace rules
} // namespace kiln::ir
