#pragma once
// The CPU path for small networks: the whole step as one loop over blocks of rows. A
// group-by-group step (codegen/cpu/renderer.cpp) runs each layer over the whole batch and passes
// every activation and derivative through workspace memory; at the course's sizes (widths of
// 10-32, batches of 5) that costs more than the arithmetic. Under the row phases
// (codegen/phases.h) a step instead runs:
//
//   Pre groups, as the group-by-group path renders them;
//   the transposed weights of the forward products, zero-padded to whole vectors;
//   for every block of R rows: every Row group for the block's rows (each activation and
//     derivative in a small array on the stack, each product's row in a register-sized
//     accumulator), and each Reduce group's partial sums (weight and bias gradients, the loss);
//   the Reduce groups' results and epilogues (the optimizer updates) and the Post groups.
//
// The block's rows are independent, so their chains of FMAs and activation polynomials overlap
// in the core. R is the batch size the Trainer trains with when it is small (a static block), 8
// otherwise; the row count of the last block is dynamic.

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "codegen/group_emitter.h"
#include "codegen/phases.h"
#include "codegen/share_groups.h"

namespace kiln::codegen {

/** How a schedule runs as row blocks. */
struct RowBlockPlan {
  /** Per group. */
  std::vector<Phase> phase;
  /** Rows per block. */
  int64_t rows = 0;
  /** Called once per mini-batch: it updates parameters (a training step) or was compiled for a
      batch size (a data-parallel rank's gradients). */
  bool per_batch = false;
  /** Per slot: a row value that lives in the block's stack arrays instead of the workspace. */
  std::vector<bool> local;
};

/**
 * The row-block plan for `sc`, or nullopt when the group-by-group path is the better one: the
 * step has no row phases, or a product is too large for its weights to stay in L1 across the
 * rows (the blocked GEMM wins there; see bench/results/2026-12-06-small-steps.md), or a row
 * value or accumulator is too large for the stack. `batch_hint`: the batch size most calls use.
 */
std::optional<RowBlockPlan> plan_row_block(const Schedule& sc, std::optional<int64_t> batch_hint);

/** A rendered row-block step. */
struct RowBlockCode {
  /** The functions to place before the step (the block function and the groups shared by
      repeated layers) as `functions`, and the step's body as one block. */
  SharedGroups shared;
  /** "" or a second translation unit's functions (codegen/cpu/row_block_step.h), without the
      prelude; `shared.functions` declares them. */
  std::string second_unit;
};

/**
 * Renders the step under `plan` with `ge`. With max_units > 1 what runs before the loop over
 * rows (Pre groups, weight copies) and after it (the results) goes to a second unit when it is
 * worth one (split_units.h; codegen/cpu/row_block_step.h). `usual(group)` renders a Pre or Post
 * group (and a Reduce group's epilogue needs nothing else) as the group-by-group path does;
 * `buffer_type(name)` is the C type of an outer buffer of share_repeated_groups, kiln_acc<g>,
 * kiln_sums<g> and kiln_bt<g> included (row_block_buffer_type).
 */
RowBlockCode render_row_block(GroupEmitter& ge, const RowBlockPlan& plan, int max_units,
                              const std::function<void(const Group&)>& usual,
                              const std::function<std::string(const std::string&)>& buffer_type);

/**
 * The C type of the block function's buffer `name` when it is a group's accumulator
 * (kiln_acc<g>), their row-major copy (kiln_sums<g>) or a transposed weight (kiln_bt<g>); "" for
 * other names.
 */
std::string row_block_buffer_type(const Schedule& sc, const std::string& name);

} // namespace kiln::codegen
