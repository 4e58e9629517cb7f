#pragma once
// The worker threads of CPU kernels. Generated code runs a loop over images (a convolution's
// batch) through kiln_parallel_for, which the JIT links to this pool: the loop is cut into one
// contiguous chunk per thread, the calling thread runs the first, and the call returns when all
// are done. Ahead-of-time kernels find no such function and run the loop on their own thread.

namespace kiln::runtime {

/**
 * Threads the parallel loops of CPU kernels use: $KILN_THREADS when set, else the machine's
 * cores; at most codegen::kCpuMaxChunks (the generated code sizes its per-chunk workspace for it).
 */
int cpu_threads();

/** Sets the thread count (1: every loop runs on the calling thread). Throws kiln::Error for n < 1;
    larger counts are capped at codegen::kCpuMaxChunks. */
void set_cpu_threads(int n);

} // namespace kiln::runtime

extern "C" {
/** A chunk of a parallel loop: items [begin, end) as chunk `chunk` (< kCpuMaxChunks). */
typedef void (*kiln_parallel_task)(void* ctx, long long chunk, long long begin, long long end);
/**
 * Runs `task` over [0, n) in chunks on the pool (the caller takes chunk 0) and returns when
 * every chunk is done, with the caller's floating-point mode (MXCSR) on every thread. A loop
 * started while another runs (another thread's kernel) runs whole on its caller.
 */
void kiln_parallel_for(kiln_parallel_task task, void* ctx, long long n);
}
