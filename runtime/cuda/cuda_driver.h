#pragma once
// The CUDA driver API, opened at run time. kiln never links libcuda (not even the toolkit's
// stub): a binary that needs libcuda.so.1 at load time cannot even start on a machine without
// an NVIDIA driver, and kiln must build, run and pass its CPU tests there. So the driver is
// dlopen'ed once, its entry points are resolved with dlsym, and every caller asks available()
// (or lets require() throw) before touching the GPU.

#include <cuda.h>

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace kiln::runtime {

/** What kiln needs to know about one CUDA device. */
struct DeviceInfo {
  int ordinal = 0;
  std::string name;
  int cc_major = 0; ///< compute capability, e.g. 9 for sm_90
  int cc_minor = 0; ///< e.g. 0 for sm_90
  int sm_count = 0; ///< streaming multiprocessors
  int max_threads_per_block = 0;
  int warp_size = 0;
  size_t shared_per_block = 0;       ///< bytes a block gets without opting in (48 KiB)
  size_t shared_per_block_optin = 0; ///< bytes a block may get after cuFuncSetAttribute
  size_t total_memory = 0;           ///< bytes of device memory

  /** Compute capability as one number: 90 for 9.0, 86 for 8.6. */
  int compute_capability() const { return cc_major * 10 + cc_minor; }
};

/** Driver features that hang on optional entry points; a missing one disables only itself. */
enum class DriverFeature {
  AsyncCopy,      ///< cuMemcpyHtoDAsync_v2, cuMemcpyDtoHAsync_v2
  Events,         ///< cuEventCreate, cuEventRecord, cuEventElapsedTime(_v2), cuEventDestroy_v2
  FuncAttributes, ///< cuFuncSetAttribute (dynamic shared memory above 48 KiB)
  Graphs,         ///< stream capture, cuGraphInstantiateWithFlags, cuGraphLaunch, destroy calls
};

/**
 * Driver entry points resolved with dlsym, named after the driver call in snake case. Their types
 * come from cuda.h, whose macros already pick the versioned declarations; the exported names that
 * differ from the call are cuDeviceTotalMem_v2, cuDevicePrimaryCtxRelease_v2, cuMemAlloc_v2,
 * cuMemFree_v2, cuMemcpyHtoD_v2, cuMemcpyDtoH_v2, cuMemcpyHtoDAsync_v2, cuMemcpyDtoHAsync_v2,
 * cuStreamDestroy_v2, cuEventDestroy_v2, cuEventElapsedTime_v2 (else cuEventElapsedTime on
 * drivers before 12.8), cuStreamBeginCapture_v2 and cuGraphInstantiateWithFlags. Required
 * members are non-null whenever CudaDriver::available(); optional ones are null when their
 * feature is missing.
 */
struct CudaApi {
  // Required.
  decltype(&::cuInit) init = nullptr;
  decltype(&::cuDriverGetVersion) driver_get_version = nullptr;
  decltype(&::cuGetErrorName) get_error_name = nullptr;
  decltype(&::cuGetErrorString) get_error_string = nullptr;
  decltype(&::cuDeviceGetCount) device_get_count = nullptr;
  decltype(&::cuDeviceGet) device_get = nullptr;
  decltype(&::cuDeviceGetAttribute) device_get_attribute = nullptr;
  decltype(&::cuDeviceGetName) device_get_name = nullptr;
  decltype(&::cuDeviceTotalMem) device_total_mem = nullptr;
  decltype(&::cuDevicePrimaryCtxRetain) primary_ctx_retain = nullptr;
  decltype(&::cuDevicePrimaryCtxRelease) primary_ctx_release = nullptr;
  decltype(&::cuCtxGetCurrent) ctx_get_current = nullptr;
  decltype(&::cuCtxSetCurrent) ctx_set_current = nullptr;
  decltype(&::cuMemAlloc) mem_alloc = nullptr;
  decltype(&::cuMemFree) mem_free = nullptr;
  decltype(&::cuMemcpyHtoD) memcpy_htod = nullptr;
  decltype(&::cuMemcpyDtoH) memcpy_dtoh = nullptr;
  decltype(&::cuModuleLoadData) module_load_data = nullptr;
  decltype(&::cuModuleGetFunction) module_get_function = nullptr;
  decltype(&::cuModuleUnload) module_unload = nullptr;
  decltype(&::cuLaunchKernel) launch_kernel = nullptr;
  decltype(&::cuStreamCreate) stream_create = nullptr;
  decltype(&::cuStreamSynchronize) stream_synchronize = nullptr;
  decltype(&::cuStreamDestroy) stream_destroy = nullptr;
  // DriverFeature::AsyncCopy.
  decltype(&::cuMemcpyHtoDAsync) memcpy_htod_async = nullptr;
  decltype(&::cuMemcpyDtoHAsync) memcpy_dtoh_async = nullptr;
  // DriverFeature::Events.
  decltype(&::cuEventCreate) event_create = nullptr;
  decltype(&::cuEventRecord) event_record = nullptr;
  decltype(&::cuEventSynchronize) event_synchronize = nullptr;
  decltype(&::cuEventElapsedTime) event_elapsed_time = nullptr;
  decltype(&::cuEventDestroy) event_destroy = nullptr;
  // DriverFeature::FuncAttributes.
  decltype(&::cuFuncSetAttribute) func_set_attribute = nullptr;
  // DriverFeature::Graphs.
  decltype(&::cuStreamBeginCapture) stream_begin_capture = nullptr;
  decltype(&::cuStreamEndCapture) stream_end_capture = nullptr;
  decltype(&::cuGraphInstantiateWithFlags) graph_instantiate = nullptr;
  decltype(&::cuGraphLaunch) graph_launch = nullptr;
  decltype(&::cuGraphExecDestroy) graph_exec_destroy = nullptr;
  decltype(&::cuGraphDestroy) graph_destroy = nullptr;
};

/**
 * The process's handle on the NVIDIA driver. Loading never throws: on a machine without a
 * driver or GPU, available() is false and unavailable_reason() says why. Everything that needs
 * the GPU goes through require(), which throws kiln::DeviceError "[cuda] no GPU: <reason> ...".
 */
class CudaDriver {
public:
  /** The shared library get() opens. */
  static constexpr const char* kLibraryName = "libcuda.so.1";

  /**
   * kiln's driver: opens $KILN_CUDA_DRIVER (a path or soname, e.g. a CUDA forward-compat
   * libcuda.so.1), else kLibraryName, once per process (thread-safe) and calls cuInit(0).
   * KILN_NO_GPU set to anything but "" or "0" before the first call forces "unavailable" with
   * the reason "disabled by KILN_NO_GPU". Never unloaded: buffers freed during static
   * destruction must still find the driver.
   */
  static const CudaDriver& get();

  /**
   * Opens `library` (a soname or a path) instead of the process's driver. For tests and tools;
   * honours KILN_NO_GPU like get(). Closes the library on destruction.
   */
  explicit CudaDriver(const std::string& library);
  ~CudaDriver();
  CudaDriver(const CudaDriver&) = delete;
  CudaDriver& operator=(const CudaDriver&) = delete;

  /** True when the driver loaded, cuInit succeeded and at least one device exists. */
  bool available() const { return available_; }

  /** Why available() is false, e.g. "cuInit failed: CUDA_ERROR_NO_DEVICE (100)"; "" if it is true.
   */
  const std::string& unavailable_reason() const { return reason_; }

  /** Whether the optional entry points behind `feature` were found (false when unavailable). */
  bool supports(DriverFeature feature) const;

  /** Driver version as the driver reports it (12040 for 12.4); 0 when unavailable. */
  int driver_version() const { return driver_version_; }

  /** Number of CUDA devices; 0 when unavailable. */
  int device_count() const { return device_count_; }

  /**
   * Properties of device `ordinal`. Throws DeviceError when the driver is unavailable or
   * `ordinal` is not in [0, device_count()).
   */
  DeviceInfo info(int ordinal) const;

  /**
   * The resolved entry points; throws DeviceError "[cuda] no GPU: <reason> (needed by <what>)"
   * when the driver is unavailable, so a caller can never reach a null required pointer.
   */
  const CudaApi& require(std::string_view what) const;

  /**
   * Throws DeviceError "[cuda] <what> failed: <name>: <description>" unless `result` is
   * CUDA_SUCCESS. Names come from the driver, or from kiln's own table when it has none.
   */
  void check(CUresult result, std::string_view what) const;

  /** "CUDA_ERROR_NO_DEVICE"-style name of `result`; "CUDA error <n>" when unknown. */
  std::string error_name(CUresult result) const;

  /** The driver's one-line description of `result`; "unknown error" when it has none. */
  std::string error_string(CUresult result) const;

  /** Exported symbols that were resolved, by their exported (versioned) names. */
  const std::vector<std::string>& resolved_symbols() const { return resolved_; }

  /** Optional symbols that were looked for and not found. */
  const std::vector<std::string>& missing_symbols() const { return missing_; }

private:
  void load(const std::string& library);
  bool resolve_all(const std::string& library);

  void* handle_ = nullptr;
  CudaApi api_;
  bool available_ = false;
  std::string reason_;
  int driver_version_ = 0;
  int device_count_ = 0;
  std::vector<std::string> resolved_;
  std::vector<std::string> missing_;
  bool features_[4] = {false, false, false, false};
};

} // namespace kiln::runtime
