#pragma once
// kiln's random stream in generated code: kiln_pcg32 matches kiln::Rng (base/rng.h) for stream 0
// (same state update, output and bounded draw), so an epoch shuffled inside a CPU or CUDA
// kernel visits the samples in exactly the order the host would.

#include <string>
#include <string_view>

namespace kiln::codegen {

/** The kiln_pcg32 type and its functions, each declared with `qualifier` ("static inline",
    "__device__ __forceinline__"). */
std::string pcg32_source(std::string_view qualifier);

} // namespace kiln::codegen
