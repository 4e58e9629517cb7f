#pragma once
// The row-block step (codegen/cpu/row_block.h) assembled from its rendered pieces: one function,
// kiln_row_step, or, split, the same function with what runs before the loop (the Pre groups and
// the weight copies) and after it (the results) called from a second translation unit, so that
// the unit with the loop over rows and the unit with the rest compile side by side on two cores;
// each block of rows may be a call of its own (RowStepText::block_function).

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace kiln::codegen {

/**
 * Takes out of `pre` (the Pre groups' blocks, in order) those that name no slot (`b<k>`) that
 * `later` (the code up to the loop's end) or a Pre group kept after them names, and returns them
 * in order: they may run after the loop, before the results. Pure.
 */
std::vector<std::string> deferrable_pre(std::vector<std::string>& pre, const std::string& later);

/** The loop over blocks of `rows` rows (kiln_r0 the first, kiln_rows how many) around `body`. */
std::string row_loop(int64_t rows, const std::string& body);

/** The row-block step's code, in the order it runs. */
struct RowStepText {
  std::string setup;   ///< declarations of the partial sums and padded weights
  std::string locals;  ///< the block's row arrays
  std::string pre;     ///< the Pre groups
  std::string copies;  ///< the padded (transposed) weights, filled
  int64_t rows = 1;    ///< rows per block
  std::string block;   ///< one block of rows (kiln_r0 its first, kiln_rows how many)
  std::string results; ///< the partial sums' results, their epilogues, the Post groups
  /**
   * Each block a call of kiln_row_block, with the row arrays its own, instead of the loop's
   * body: for a split step of a block or two per call, whose loop unit runs kiln's short pass
   * pipeline. Inside a loop over blocks, LLVM's machine LICM hoists the math's vector constants
   * out of it and, with too few registers left for them, spills and reloads them (19 zmm in
   * W2's step). kiln_bench, alternating with the previous code: W1's step 0.393 -> 0.370 us,
   * its cold compile 57-61 -> 51-53 ms. Not for the whole step under -O2: its W1 got slower
   * (dumped and called in a loop, 0.362 -> 0.385 us).
   */
  bool block_function = false;
};

/** What assemble_row_step renders. */
struct RowStep {
  /** Unit 0's definitions: declarations of unit 1's functions, kiln_row_block if any, then
      kiln_row_step. */
  std::string functions;
  /** The statement that runs the step: a call of kiln_row_step. */
  std::string call;
  /** Unit 1's definitions, or "" unsplit: the extern "C" functions that kiln_row_step calls. */
  std::string second_unit;
};

/**
 * Renders kiln_row_step from `t`; with `split`, `t.pre` with `t.copies`, and `t.results`, become
 * extern "C" functions of their own (named after their content, so equal code shares one name),
 * defined in `second_unit`. Every function takes N and the outer buffers its code names (slots
 * `b<k>`, kiln_acc<g>, kiln_bt<g>) as parameters typed by `param_type(name)` ("" for a name that is
 * not one, such as a local row array); the outlined code may not name local row arrays. With
 * `t.block_function`, kiln_row_block(N, kiln_r0, kiln_rows, ...) holds `t.locals` and `t.block`
 * and kiln_row_step calls it once per block. Pure.
 */
RowStep assemble_row_step(const RowStepText& t, bool split,
                          const std::function<std::string(const std::string&)>& param_type);

} // namespace kiln::codegen
