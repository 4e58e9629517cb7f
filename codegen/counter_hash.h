#pragma once
// kiln's counter-based random numbers in generated code: kiln_pcg_hash and kiln_dropout compute
// what base/counter_hash.h computes on the host (the interpreter's dropout), so a mask is the
// same in the interpreter, a CPU kernel and a CUDA kernel.

#include <string>
#include <string_view>

namespace kiln::codegen {

/** kiln_pcg_hash and kiln_dropout (float and double), each declared with `qualifier`
    ("static inline", "__device__ __forceinline__"). */
std::string counter_hash_source(std::string_view qualifier);

} // namespace kiln::codegen
