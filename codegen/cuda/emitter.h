#pragma once
// Internal to the CUDA renderer: the pieces every CUDA kernel is made of. A CudaEmitter renders
// one kernel body: index arithmetic, and the computation of one output element of a group (by
// one thread, or by a whole block for a reduction), through the shared ExprEmitter.

#include <set>
#include <string>
#include <utility>
#include <vector>

#include "codegen/c_like.h"
#include "codegen/code_writer.h"
#include "codegen/group_emitter.h"
#include "codegen/schedule.h"

namespace kiln::codegen::cuda {

/** Threads per block of every kernel but the tiled matmul's (a power of two: block reductions). */
inline constexpr int kBlock = 256;

/** The ExprEmitter spelling for CUDA: 32-bit indices. */
Target cuda_target();

/** Parameters (C type, name) of every step kernel: int N, one pointer per slot, char* kiln_ws. */
std::vector<std::pair<std::string, std::string>> step_params(const Schedule& sc);
/** "T a, U b, ..." */
std::string join_params(const std::vector<std::pair<std::string, std::string>>& params);
/** Whether `body` reads or writes slot `s` through its pointer ("b<s>["). */
bool uses_slot(const std::string& body, int s);
/** `for (int <var> = threadIdx.x; <var> < <total>; <var> += blockDim.x)`: a block-wide loop. */
std::string block_loop(const std::string& var, const std::string& total);
/** The element count of `dims` as a C expression, with `batch` for the batch dim. */
std::string numel_expr(const std::vector<int64_t>& dims, const std::string& batch = "N");

/** Renders one kernel body. */
class CudaEmitter : public GroupEmitter {
public:
  explicit CudaEmitter(const Schedule& sc) : GroupEmitter(sc, cuda_target()) {}

  /**
   * The index of element `flat` of a row-major array of `dims`, as C expressions (no
   * statements); `batch` spells the batch dim.
   */
  static Index decompose(const std::vector<int64_t>& dims, const std::string& flat,
                         const std::string& batch = "N");

  /**
   * Everything one thread does for output element `idx` of `grp`: the roots of a pointwise
   * group; the whole reduction, or the whole dot product, of an accumulator; then the stores
   * and the epilogue roots. In a fresh ExprEmitter scope.
   */
  void element(const Group& grp, const Index& idx);
  /**
   * Output element `idx` of Reduce group `grp`, computed by the whole block (every thread
   * must reach it): strided partial results, a shared-memory tree, then thread 0 stores and
   * runs the epilogue roots.
   */
  void block_reduce(const Group& grp, const Index& idx);

  /** The reduced element count of Reduce group `grp` as a C expression (`batch` for N). */
  std::string reduced_count(const Group& grp, const std::string& batch = "N") const;
  /** The index into the reduction's input for output `out` and flat reduced element `r`. */
  Index reduce_input_index(const Group& grp, const Index& out, const std::string& r,
                           const std::string& batch = "N") const;

  /** Declarations of the shared block-reduction buffers the body used (one per dtype). */
  std::string shared_declarations() const;

  /** The final value of a reduction from its accumulated `acc` (a mean divides by the count). */
  std::string finish(const Group& grp, const std::string& acc, const std::string& batch) const;
  /** The shared buffer that block reductions of `t` use; shared_declarations() declares it. */
  std::string reduction_buffer(ir::DType t);

private:
  std::set<ir::DType> red_types_;
};

} // namespace kiln::codegen::cuda
