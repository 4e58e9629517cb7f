#pragma once
// From DSL expressions to an ir::Graph, and initial parameter values.

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "frontend/expr.h"
#include "ir/interpret.h"
#include "ir/node.h"

namespace kiln {

/** A lowered network: its graph (not yet optimized) and the parameters it uses. */
struct Lowered {
  ir::Graph graph;
  std::vector<ParamSpec> params;
};

/** Named outputs to lower together into one graph. */
using Outputs = std::vector<std::pair<std::string, Expr>>;

/**
 * Lowers the outputs into one graph whose floats are `dtype`; `training` lowers them for a
 * training step (dropout then reads the step's param "step", see kiln::dropout). Throws
 * kiln::ShapeError naming the op and both shapes when dims that were not static do not fit.
 */
Lowered lower(const Outputs& outputs, ir::DType dtype = ir::DType::F32, bool training = false);

/**
 * Initial values of the parameters, drawn from their Init. A parameter's values depend only
 * on (seed, its name), so the same network gets the same weights in every graph it is
 * lowered into.
 */
ir::Bindings init_parameters(const std::vector<ParamSpec>& params, uint64_t seed,
                             ir::DType dtype = ir::DType::F32);

} // namespace kiln
