#include "runtime/cuda/cuda_driver.h"

#include "base/error.h"

#include <dlfcn.h>

#include <cstdlib>
#include <cstring>
#include <initializer_list>
#include <type_traits>

namespace kiln::runtime {
namespace {

bool disabled_by_env() {
  const char* v = std::getenv("KILN_NO_GPU");
  return v != nullptr && v[0] != '\0' && std::strcmp(v, "0") != 0;
}

// Used when the driver cannot name an error itself: the toolkit's stub has no names, and a
// missing libcuda has no functions at all. Descriptions are kiln's words, names are cuda.h's.
struct KnownError {
  int code;
  const char* name;
  const char* text;
};
constexpr KnownError kKnownErrors[] = {
    {0, "CUDA_SUCCESS", "no error"},
    {1, "CUDA_ERROR_INVALID_VALUE", "invalid argument"},
    {2, "CUDA_ERROR_OUT_OF_MEMORY", "out of memory"},
    {3, "CUDA_ERROR_NOT_INITIALIZED", "driver not initialized"},
    {4, "CUDA_ERROR_DEINITIALIZED", "driver shutting down"},
    {34, "CUDA_ERROR_STUB_LIBRARY", "the loaded libcuda is the toolkit's stub, not a driver"},
    {35, "CUDA_ERROR_INSUFFICIENT_DRIVER", "driver older than the CUDA toolkit"},
    {100, "CUDA_ERROR_NO_DEVICE", "no CUDA-capable device"},
    {101, "CUDA_ERROR_INVALID_DEVICE", "invalid device ordinal"},
    {200, "CUDA_ERROR_INVALID_IMAGE", "invalid kernel image"},
    {201, "CUDA_ERROR_INVALID_CONTEXT", "invalid context"},
    {209, "CUDA_ERROR_NO_BINARY_FOR_GPU", "no kernel image for this device"},
    {218, "CUDA_ERROR_INVALID_PTX", "PTX JIT compilation failed"},
    {222, "CUDA_ERROR_UNSUPPORTED_PTX_VERSION", "PTX newer than the driver"},
    {400, "CUDA_ERROR_INVALID_HANDLE", "invalid resource handle"},
    {500, "CUDA_ERROR_NOT_FOUND", "named symbol not found"},
    {700, "CUDA_ERROR_ILLEGAL_ADDRESS", "illegal memory access"},
    {701, "CUDA_ERROR_LAUNCH_OUT_OF_RESOURCES", "too many resources requested for launch"},
    {719, "CUDA_ERROR_LAUNCH_FAILED", "unspecified launch failure"},
    {999, "CUDA_ERROR_UNKNOWN", "unknown error"},
};

const KnownError* known_error(CUresult r) {
  for (const KnownError& e : kKnownErrors)
    if (e.code == static_cast<int>(r))
      return &e;
  return nullptr;
}

} // namespace

const CudaDriver& CudaDriver::get() {
  // Deliberately leaked: DeviceBuffers owned by other statics may be freed after main returns.
  static const CudaDriver* driver = [] {
    const char* lib = std::getenv("KILN_CUDA_DRIVER");
    return new CudaDriver(lib != nullptr && lib[0] != '\0' ? lib : kLibraryName);
  }();
  return *driver;
}

CudaDriver::CudaDriver(const std::string& library) {
  load(library);
}

CudaDriver::~CudaDriver() {
  if (handle_ != nullptr)
    dlclose(handle_);
}

void CudaDriver::load(const std::string& library) {
  if (disabled_by_env()) {
    reason_ = "disabled by KILN_NO_GPU";
    return;
  }
  handle_ = dlopen(library.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (handle_ == nullptr) {
    const char* err = dlerror();
    reason_ = str(library, " not found (no NVIDIA driver): ", err ? err : "dlopen failed");
    return;
  }
  if (!resolve_all(library))
    return;
  if (CUresult r = api_.init(0); r != CUDA_SUCCESS) {
    reason_ = str("cuInit failed: ", error_name(r), " (", static_cast<int>(r), ")");
    return;
  }
  if (api_.driver_get_version(&driver_version_) != CUDA_SUCCESS)
    driver_version_ = 0;
  if (CUresult r = api_.device_get_count(&device_count_); r != CUDA_SUCCESS) {
    reason_ = str("cuDeviceGetCount failed: ", error_name(r), " (", static_cast<int>(r), ")");
    device_count_ = 0;
    return;
  }
  if (device_count_ <= 0) {
    reason_ = "no CUDA device";
    device_count_ = 0;
    return;
  }
  available_ = true;
}

bool CudaDriver::resolve_all(const std::string& library) {
  std::string missing_required;
  // Tries each exported name in turn (newest first); records what was found.
  auto find = [&](std::initializer_list<const char*> names) -> void* {
    for (const char* name : names) {
      if (void* p = dlsym(handle_, name)) {
        resolved_.emplace_back(name);
        return p;
      }
    }
    return nullptr;
  };
  auto required = [&](auto& slot, std::initializer_list<const char*> names) {
    slot = reinterpret_cast<std::remove_reference_t<decltype(slot)>>(find(names));
    if (slot == nullptr)
      missing_required += str(missing_required.empty() ? "" : ", ", *names.begin());
  };
  auto optional = [&](auto& slot, std::initializer_list<const char*> names) {
    slot = reinterpret_cast<std::remove_reference_t<decltype(slot)>>(find(names));
    if (slot == nullptr)
      missing_.emplace_back(*names.begin());
    return slot != nullptr;
  };
  CudaApi& a = api_;
  required(a.init, {"cuInit"});
  required(a.driver_get_version, {"cuDriverGetVersion"});
  required(a.get_error_name, {"cuGetErrorName"});
  required(a.get_error_string, {"cuGetErrorString"});
  required(a.device_get_count, {"cuDeviceGetCount"});
  required(a.device_get, {"cuDeviceGet"});
  required(a.device_get_attribute, {"cuDeviceGetAttribute"});
  required(a.device_get_name, {"cuDeviceGetName"});
  required(a.device_total_mem, {"cuDeviceTotalMem_v2"});
  required(a.primary_ctx_retain, {"cuDevicePrimaryCtxRetain"});
  required(a.primary_ctx_release, {"cuDevicePrimaryCtxRelease_v2"});
  required(a.ctx_get_current, {"cuCtxGetCurrent"});
  required(a.ctx_set_current, {"cuCtxSetCurrent"});
  required(a.mem_alloc, {"cuMemAlloc_v2"});
  required(a.mem_free, {"cuMemFree_v2"});
  required(a.memcpy_htod, {"cuMemcpyHtoD_v2"});
  required(a.memcpy_dtoh, {"cuMemcpyDtoH_v2"});
  required(a.module_load_data, {"cuModuleLoadData"});
  required(a.module_get_function, {"cuModuleGetFunction"});
  required(a.module_unload, {"cuModuleUnload"});
  required(a.launch_kernel, {"cuLaunchKernel"});
  required(a.stream_create, {"cuStreamCreate"});
  required(a.stream_synchronize, {"cuStreamSynchronize"});
  required(a.stream_destroy, {"cuStreamDestroy_v2"});

  // `&` rather than `&&`: every optional symbol is looked up, so missing_symbols() is complete.
  auto& f = features_;
  f[int(DriverFeature::AsyncCopy)] = optional(a.memcpy_htod_async, {"cuMemcpyHtoDAsync_v2"}) &
                                     optional(a.memcpy_dtoh_async, {"cuMemcpyDtoHAsync_v2"});
  // cuEventElapsedTime_v2 is CUDA 12.8+; older drivers export the same signature unversioned.
  f[int(DriverFeature::Events)] =
      optional(a.event_create, {"cuEventCreate"}) & optional(a.event_record, {"cuEventRecord"}) &
      optional(a.event_synchronize, {"cuEventSynchronize"}) &
      optional(a.event_elapsed_time, {"cuEventElapsedTime_v2", "cuEventElapsedTime"}) &
      optional(a.event_destroy, {"cuEventDestroy_v2"});
  f[int(DriverFeature::FuncAttributes)] = optional(a.func_set_attribute, {"cuFuncSetAttribute"});
  f[int(DriverFeature::Graphs)] = optional(a.stream_begin_capture, {"cuStreamBeginCapture_v2"}) &
                                  optional(a.stream_end_capture, {"cuStreamEndCapture"}) &
                                  optional(a.graph_instantiate, {"cuGraphInstantiateWithFlags"}) &
                                  optional(a.graph_launch, {"cuGraphLaunch"}) &
                                  optional(a.graph_exec_destroy, {"cuGraphExecDestroy"}) &
                                  optional(a.graph_destroy, {"cuGraphDestroy"});

  if (!missing_required.empty()) {
    reason_ = str(library, " lacks ", missing_required, " (driver too old?)");
    for (bool& on : features_)
      on = false;
    return false;
  }
  return true;
}

bool CudaDriver::supports(DriverFeature feature) const {
  return available_ && features_[static_cast<int>(feature)];
}

const CudaApi& CudaDriver::require(std::string_view what) const {
  if (!available_)
    throw DeviceError(str("[cuda] no GPU: ", reason_, " (needed by ", what, ")"));
  return api_;
}

std::string CudaDriver::error_name(CUresult result) const {
  const char* name = nullptr;
  if (api_.get_error_name != nullptr && api_.get_error_name(result, &name) == CUDA_SUCCESS &&
      name != nullptr)
    return name;
  if (const KnownError* e = known_error(result))
    return e->name;
  return str("CUDA error ", static_cast<int>(result));
}

std::string CudaDriver::error_string(CUresult result) const {
  const char* text = nullptr;
  if (api_.get_error_string != nullptr && api_.get_error_string(result, &text) == CUDA_SUCCESS &&
      text != nullptr)
    return text;
  if (const KnownError* e = known_error(result))
    return e->text;
  return "unknown error";
}

void CudaDriver::check(CUresult result, std::string_view what) const {
  if (result == CUDA_SUCCESS)
    return;
  throw DeviceError(
      str("[cuda] ", what, " failed: ", error_name(result), ": ", error_string(result)));
}

DeviceInfo CudaDriver::info(int ordinal) const {
  const CudaApi& a = require("CudaDriver::info");
  if (ordinal < 0 || ordinal >= device_count_)
    throw DeviceError(str("[cuda] device ", ordinal, " does not exist: ", device_count_,
                          " CUDA device(s) found"));
  CUdevice dev = 0;
  check(a.device_get(&dev, ordinal), str("cuDeviceGet(", ordinal, ")"));
  DeviceInfo d;
  d.ordinal = ordinal;
  char name[256] = {};
  check(a.device_get_name(name, sizeof(name) - 1, dev), "cuDeviceGetName");
  d.name = name;
  auto attr = [&](CUdevice_attribute which, const char* label) {
    int v = 0;
    check(a.device_get_attribute(&v, which, dev), str("cuDeviceGetAttribute(", label, ")"));
    return v;
  };
  d.cc_major = attr(CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR, "COMPUTE_CAPABILITY_MAJOR");
  d.cc_minor = attr(CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR, "COMPUTE_CAPABILITY_MINOR");
  d.sm_count = attr(CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT, "MULTIPROCESSOR_COUNT");
  d.max_threads_per_block =
      attr(CU_DEVICE_ATTRIBUTE_MAX_THREADS_PER_BLOCK, "MAX_THREADS_PER_BLOCK");
  d.warp_size = attr(CU_DEVICE_ATTRIBUTE_WARP_SIZE, "WARP_SIZE");
  d.shared_per_block = static_cast<size_t>(
      attr(CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_BLOCK, "MAX_SHARED_MEMORY_PER_BLOCK"));
  d.shared_per_block_optin = static_cast<size_t>(attr(
      CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_BLOCK_OPTIN, "MAX_SHARED_MEMORY_PER_BLOCK_OPTIN"));
  size_t bytes = 0;
  check(a.device_total_mem(&bytes, dev), "cuDeviceTotalMem");
  d.total_memory = bytes;
  return d;
}

} // namespace kiln::runtime
