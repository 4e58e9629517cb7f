#pragma once
// A stand-in for libcuda.so.1, built only for the tests (fake_libcuda.cpp): it lets the device
// layer (contexts, buffers, modules, launches, graphs) run end to end on a machine without a
// GPU. Device memory is host memory; the two test kernels of cuda_test_util.h are emulated on
// the CPU, everything else it is asked to launch fails with CUDA_ERROR_NOT_SUPPORTED.

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
};

/** The fake driver's counters (look it up with dlsym in the loaded fake). */
extern "C" KilnFakeCudaState* kiln_fake_cuda_state();
