#pragma once
// A kernel's outputs CHECKed against the reference interpreter's: shared by the CPU and CUDA
// kernel tests.

#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "ir/interpret.h"
#include "tests/support/compare.h"

namespace kiln::test {

/**
 * CHECKs every output in `got` against the interpreter's `want` (for graph `g`) within `tol`
 * (max_rel_error); a failure shows `what`, the output's name and its first values.
 */
inline void check_outputs(const std::vector<ir::Tensor>& got, const std::vector<ir::Tensor>& want,
                          const ir::Graph& g, double tol, const std::string& what = "") {
  REQUIRE(got.size() == want.size());
  for (size_t i = 0; i < got.size(); ++i) {
    INFO(what << "output " << g.outputs()[i].name << "\n" << side_by_side(got[i], want[i]));
    CHECK(max_rel_error(got[i], want[i]) <= tol);
  }
}

} // namespace kiln::test
