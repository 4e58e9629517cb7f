#pragma once
// A kernel that says when each gradient is final, so that the runtime can start sending it
// (a data-parallel step's all-reduce) while the kernel computes the rest of the backward pass:
//
//   kiln_gradient_ready(<slot>);   // after the last write of output slot "grad:<param>"
//
// The call goes through a pointer the runtime sets (runtime::GradientReadyHook has the same
// layout), null by default, so a kernel runs alone too. A gradient is final after the group
// that computes its node; one copied from another buffer (CpuKernel's output copies), and every
// gradient of a step that runs as row blocks (summed over the blocks), only at the step's end.

#include <string>
#include <vector>

#include "codegen/schedule.h"

namespace kiln::codegen {

/**
 * The "grad:" output slots that become final after each group of `sc` (index g), and at the
 * end of the step (index sc.groups.size(): the output copies), in slot order. With
 * `row_blocks`, every one at the end. Pure.
 */
std::vector<std::vector<int>> gradients_ready_after(const Schedule& sc, bool row_blocks);

/** The statements that report `slots` as ready (a comment naming each gradient, and the call). */
std::string gradient_ready_calls(const Schedule& sc, const std::vector<int>& slots);

/**
 * The kernel's view of the hook: the table's layout, the pointer `symbol` declared extern "C"
 * (defined once, by gradient_ready_definition) and kiln_gradient_ready.
 */
std::string gradient_ready_source(const std::string& symbol);

/** The definition of the hook pointer, for exactly one unit of a kernel. */
std::string gradient_ready_definition(const std::string& symbol);

} // namespace kiln::codegen
