#pragma once
// NVRTC: CUDA C++ source → CUBIN or PTX, in process and without a GPU. The generated source is
// expected to be self-contained (no standard headers: NVRTC has none, and libcu++ headers cost
// about a second per compile); the CUDA include directory is still on the path so that
// cuda_fp16.h / cuda_bf16.h can be included when a kernel needs them.

#include "runtime/cuda/cuda_driver.h"

#include <string>
#include <vector>

namespace kiln::runtime {

class KernelCache; // runtime/kernel_cache.h

/** How to compile one translation unit. */
struct NvrtcOptions {
  /** Names the program in logs, errors and dumps (`<name>.cu`); "kernel" when empty. */
  std::string name;
  /** Target architecture as one number: 90 for sm_90 / compute_90. */
  int sm = 90;
  /** true: a CUBIN for sm_XX (loads only on that major, same or higher minor); false: PTX. */
  bool cubin = true;
  /** Adds --use_fast_math. */
  bool fast_math = false;
  /** Appended verbatim after kiln's own options. */
  std::vector<std::string> extra;
  /** Look the binary up in, and store it to, the on-disk kernel cache. */
  bool use_cache = true;
  /** The cache to use; KernelCache::default_cache() when null. */
  KernelCache* cache = nullptr;
};

/** A compiled binary, ready for cuModuleLoadData. */
struct NvrtcResult {
  /** CUBIN (an ELF image) or PTX text without a trailing NUL. */
  std::string binary;
  bool is_cubin = true;
  /** NVRTC's log: warnings on success ("" when there were none). Empty for a cache hit. */
  std::string log;
  /** Wall time of the compile, or of the cache lookup when from_cache. */
  double compile_ms = 0.0;
  /** True when the binary came from the kernel cache and NVRTC did not run. */
  bool from_cache = false;
};

/**
 * Compiles `source` with `--std=c++17 -arch=sm_XX` (or compute_XX for PTX), `-default-device`,
 * `--extra-device-vectorization`, the CUDA include directory and optionally `--use_fast_math`,
 * then options.extra. With options.use_cache, a binary cached under make_cache_key(source,
 * flags, "nvrtc <version>", "sm_XX" or "compute_XX") is returned without running NVRTC, and a
 * fresh one is stored. Throws kiln::CompileError whose what() starts with
 * "[nvrtc] failed to compile <name> for sm_XX" (compute_XX for PTX) and holds the log; the
 * source is dumped to $KILN_DUMP_DIR/<name>.cu, or else to a file in the temp directory, and
 * CompileError::source_path() names it. With KILN_DUMP_DIR set every source is dumped;
 * KILN_DEBUG=1 prints one line per compile (name, arch, size, ms) to stderr. Thread-safe.
 */
NvrtcResult nvrtc_compile(const std::string& source, const NvrtcOptions& options);

/** The exact option list nvrtc_compile passes for `options` (also part of the cache key). */
std::vector<std::string> nvrtc_flags(const NvrtcOptions& options);

/** NVRTC's version as "major.minor", e.g. "13.0". */
std::string nvrtc_version();

/** Architectures this NVRTC can target, ascending, e.g. {75, 80, 86, ..., 120, 121}. */
const std::vector<int>& nvrtc_supported_archs();

/**
 * The architecture to compile for on `device`: its own compute capability when NVRTC supports
 * it, else the highest supported one below it. Throws kiln::DeviceError when the device is older
 * than every supported architecture.
 */
int pick_sm(const DeviceInfo& device);

/** pick_sm for a compute capability (90 for 9.0) and an explicit list of supported archs. */
int pick_sm(int compute_capability, const std::vector<int>& supported);

/**
 * Whether a CUBIN built for sm_`sm` runs on `device`: CUBINs are binary-compatible only within
 * one major version, from their minor version upwards. Where it does not, compile PTX and let
 * the driver JIT it.
 */
bool cubin_runs_on(int sm, const DeviceInfo& device);

/** Options for `device`: sm = pick_sm(device), cubin = cubin_runs_on(sm, device). */
NvrtcOptions nvrtc_options_for(const DeviceInfo& device, std::string name);

} // namespace kiln::runtime
