#pragma once
// A stand-in for libcuda.so.1, built only for the tests (fake_libcuda.cpp): it lets the device
// layer (contexts, buffers, modules, launches, graphs) run end to end on a machine without a
// GPU. Device memory is host memory; the two test kernels of cuda_test_util.h are emulated on
// the CPU, and so is every kernel a test registers with kiln_fake_cuda_register (e.g. kiln's
// generated kernels compiled for the CPU by cuda_emulator.h); everything else it is asked to
// launch fails with CUDA_ERROR_NOT_SUPPORTED.

/** Live-object counters, so tests can check that every handle kiln takes is given back. */
struct KilnFakeCudaState {
  int context_refs;     ///< primary-context retains minus releases
  int live_allocations; ///< cuMemAlloc minus cuMemFree
  int live_modules;
  int live_streams;
  int live_events;
  int live_graphs; ///< CUgraph plus CUgraphExec handles
  int launches;    ///< kernels executed (a graph replay counts each of its kernels)
  int func_attribute_calls;
  int last_dynamic_shared; ///< value of the last MAX_DYNAMIC_SHARED_SIZE_BYTES attribute
  int cc_major, cc_minor;  ///< compute capability the device reports; 0.x means 9.0 (sm_90)
};

/** The fake driver's counters (look it up with dlsym in the loaded fake). */
extern "C" KilnFakeCudaState* kiln_fake_cuda_state();

/** Kernels run so far (launched, or replayed in a graph), whatever tests did to the counters. */
extern "C" int kiln_fake_cuda_runs();
/**
 * The stream of the i-th kernel run (0-based; a graph replay's kernels run on the stream it was
 * launched on); null when there is none.
 */
extern "C" void* kiln_fake_cuda_run_stream(int i);

/**
 * A kernel run on the CPU for the fake: `args` holds one pointer per kernel parameter, to a
 * copy of the value taken at launch time (as the real driver does).
 */
typedef void (*KilnFakeKernel)(void* ctx, unsigned grid, unsigned block, unsigned shared,
                               void** args);

/**
 * Makes launches of the kernel `name` (in any module whose image holds the name) run `fn`.
 * `arg_sizes` gives the byte size of each of the `nargs` parameters. Registering a name again
 * replaces the kernel.
 */
extern "C" void kiln_fake_cuda_register(const char* name, KilnFakeKernel fn, void* ctx, int nargs,
                                        const unsigned* arg_sizes);

/**
 * Called with the name of a kernel that is neither built in nor registered, before its launch
 * fails; it may register the kernel and return nonzero to have the launch retried.
 */
typedef int (*KilnFakeResolver)(const char* name);

/** Installs the resolver (nullptr: none). */
extern "C" void kiln_fake_cuda_set_resolver(KilnFakeResolver resolver);
