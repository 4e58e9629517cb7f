#pragma once
// How generated CPU code splits a loop over the runtime's threads (runtime/cpu/thread_pool.h).
//
// Emitted code calls
//   kiln_parallel(n, flops, body);   // body: a lambda (long long lo, long long hi, int worker)
// which runs body on contiguous ranges [lo, hi) of [0, n), one per worker, and returns when all
// are done; on this thread alone (worker 0) when the kernel has no pool (ahead-of-time files, a
// pool of one thread) or when `flops` is too little work to pay for waking a thread. `worker` is
// below kCpuMaxWorkers: per-worker scratch is indexed by it. A call nested in another's body
// runs on the calling worker alone, with that worker's index.
//
// The renderer (codegen/cpu/renderer.cpp) adds kiln_parallel to a kernel whose code calls it, in
// every unit, and names the kernel's pool pointer in CpuKernel::pool_symbol for the runtime to
// set; no header and no OpenMP runtime in generated code.
//
// An emitter calls it only when CpuOptions::threads > 1 (the pool's size when the kernel is
// compiled) and the loop can reach kCpuParallelFlops; otherwise it keeps a plain loop, since a
// loop body inside the lambda ran 5-25% slower on one thread (codegen/cpu/gemm.cpp, slivers).
// Capture by value ([=]): kiln_parallel hands threads a copy, so the closure that a
// single-threaded call runs stays in registers; a body may not write to outer locals.

#include <cstdint>
#include <string>

namespace kiln::codegen {

/**
 * The most workers that share one loop: per-worker scratch is sized for this many. The runtime's
 * pool never runs more (runtime/cpu/thread_pool.h asserts it).
 */
constexpr int64_t kCpuMaxWorkers = 16;

/** Below this many floating-point operations a loop runs on one thread (~50 us of work). */
constexpr double kCpuParallelFlops = 4e6;

/** True when generated source calls kiln_parallel. */
bool uses_parallel(const std::string& source);

/**
 * The kernel's view of the pool: the table's layout (runtime::KilnPoolApi has the same), the
 * pointer `symbol` declared extern "C" (defined once, by parallel_definition, null until the
 * runtime sets it), and kiln_parallel.
 */
std::string parallel_source(const std::string& symbol);

/** The definition of the pool pointer, for exactly one unit of a kernel. */
std::string parallel_definition(const std::string& symbol);

} // namespace kiln::codegen
