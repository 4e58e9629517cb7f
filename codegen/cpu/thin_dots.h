#pragma once
// A few dot products of one row summed together: a row-block step's product with 2 to 4 output
// columns (W2's softmax layer, [N,10] x [10,3]) multiplies the row's vector by each padded weight
// row, then adds the products' lanes in one tree of shuffles and adds instead of one horizontal
// sum per column (W2's step, dumped and called in a loop: 0.49 -> 0.47 us).

#include <cstdint>
#include <string>
#include <vector>

#include "codegen/code_writer.h"
#include "ir/dtype.h"

namespace kiln::codegen {

/**
 * Emits statements that declare the vector `out` (kiln_vf or kiln_vd by `t`) from `products`
 * (1 to 4 vector expressions) and returns, for each product, the lane of `out` that holds the
 * sum of its lanes. Needs the row-block vectors and KILN_SHUFFLE_F / KILN_SHUFFLE_D
 * (codegen/cpu/row_block_util.h).
 */
std::vector<int64_t> emit_summed_together(CodeWriter& w, ir::DType t,
                                          std::vector<std::string> products,
                                          const std::string& out);

} // namespace kiln::codegen
