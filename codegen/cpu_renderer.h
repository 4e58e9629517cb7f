#pragma once
// The CPU target: one self-contained C++ translation unit per graph (no #include, so it compiles
// in milliseconds), with one extern "C" entry point that runs the whole schedule:
//
//   extern "C" void <name>(long long N, void* const* slots, void* workspace);
//
// N is the batch size; slots[i] points at the buffer of schedule.slots[i] (inputs, params,
// outputs; row-major, dtype of the slot); scratch buffers live in `workspace`, which must hold
// workspace_bytes(N) bytes aligned to 64.

#include <cstdint>
#include <string>
#include <vector>

#include "codegen/schedule.h"

namespace kiln::codegen {

/** Size of one scratch buffer: per_batch * N + fixed bytes (before 64-byte alignment). */
struct ScratchSize {
  int64_t per_batch = 0;
  int64_t fixed = 0;
};

/** A rendered CPU kernel. */
struct CpuKernel {
  /** The entry point's symbol: "kiln_" + a hash of the source, so equal kernels share it. */
  std::string name;
  /** The translation unit, prelude included. */
  std::string source;
  Schedule schedule;
  /** Scratch buffers in workspace order (the Scratch slots, in slot order). */
  std::vector<ScratchSize> scratch;

  /** Workspace bytes the kernel needs for batch size N. */
  int64_t workspace_bytes(int64_t N) const;
};

/** Renders `g` (optimized, verified) for the CPU. Pure. */
CpuKernel render_cpu(const ir::Graph& g);

/** The source every CPU kernel starts with: kiln's math functions and loop pragmas. */
const std::string& cpu_prelude();

} // namespace kiln::codegen
