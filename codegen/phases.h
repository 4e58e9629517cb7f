#pragma once
// The phases of a step over rows: which groups depend on no row, which compute one row from the
// same row alone, which sum over the rows and which come after those sums. Backends that fuse a
// whole step into one pass over the rows (CUDA's chunked plan, codegen/cuda/chunked.cpp; the CPU's
// row blocks, codegen/cpu/row_block.cpp) share this analysis.

#include <cstdint>
#include <optional>
#include <vector>

#include "codegen/schedule.h"

namespace kiln::codegen {

/** When a group runs in a pass over the rows. */
enum class Phase : uint8_t {
  Pre,    ///< depends on no row: before the pass
  Row,    ///< domain [N, ...], row i reads only row i: inside the pass
  Reduce, ///< sums over rows: partial sums inside the pass, the result after it
  Post,   ///< depends on Reduce results: after the pass
};

/**
 * Every group's phase, or nullopt when a pass over the rows cannot compute the schedule: a batch
 * dim anywhere but in front, an op that mixes rows, a window op (convolution, pooling), a Row
 * group that reads a Reduce result, a Reduce group whose sum reads another's result, an in-place
 * update whose order against a read of its param would change, or no Row group at all.
 */
std::optional<std::vector<Phase>> row_phases(const Schedule& sc);

/** Whether `s` has the batch dim in front. */
inline bool leading_batch(const ir::Shape& s) {
  return s.rank() >= 1 && s[0] == ir::kBatch;
}

} // namespace kiln::codegen
