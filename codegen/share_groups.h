#pragma once
// Deep networks repeat themselves: every hidden layer of a width-32 MLP renders the same loop
// nests, differing only in which buffers they touch. Emitting each copy inline makes clang's
// time grow faster than the depth (a 32-layer step took ~12 s); emitting one function per
// distinct loop nest and calling it once per layer keeps compile time close to constant in
// depth, while a group that occurs once stays inline where it can be fused with its neighbours.

#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace kiln::codegen {

/** The step body after sharing: functions to place before the step, and the step's body. */
struct SharedGroups {
  std::string functions;
  std::string body;
  /** body, block by block, and the shared function each block calls ("" when it is inline). */
  std::vector<std::string> blocks;
  std::vector<std::string> calls;
  /** Each shared function's definition (a part of `functions`), by name. */
  std::map<std::string, std::string> function_text;
};

/** A row-block step's arrays that live across its loop over rows (cpu/row_block.h). */
enum class RowBlockArray {
  None,
  Acc,  ///< a group's partial sums, kiln_acc<g>
  Bt,   ///< a product's padded (transposed) weights, kiln_bt<g>
  Sums, ///< a flat result's partial sums in row-major order, kiln_sums<g>
};
/** The array `id` names, and the group <g> its name ends with. */
struct RowBlockArrayName {
  RowBlockArray kind = RowBlockArray::None;
  size_t group = 0;
};
RowBlockArrayName row_block_array(std::string_view id);
/** The name of group gi's array of `kind` (not None). */
std::string row_block_array_name(RowBlockArray kind, size_t gi);

/**
 * Rewrites a sequence of group code blocks (statements at one nesting level, as rendered by
 * CpuEmitter). Blocks equal up to the names of their outer variables (buffers `b<k>`, `N`,
 * `kiln_ws`; in a row-block step also `kiln_rows`, `kiln_r0`, partial sums `kiln_acc<g>` (and their
 * row-major copies `kiln_sums<g>`) and padded weights `kiln_bt<g>`) and of their own temporaries
 * are rendered once as a static function and called at each place; blocks that occur once are kept
 * as they are. `param_type(name)` gives the C type of an outer buffer (e.g. "const float*
 * __restrict"). Other kiln_* names are the block's own and stay as written, so a group's own
 * variables must not take the outer names (the blocked GEMM's kiln_sliver_rows). Comment lines are
 * kept at the call sites and do not count when comparing. Pure.
 */
SharedGroups
share_repeated_groups(const std::vector<std::string>& blocks,
                      const std::function<std::string(const std::string&)>& param_type);

} // namespace kiln::codegen
