// Test double for libcuda.so.1; see fake_libcuda.h. Signatures come from cuda.h, so a mismatch
// with the real driver API is a compile error here. Only what kiln's runtime calls is provided.

#include "fake_libcuda.h"

#include <cuda.h>

#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

namespace {

KilnFakeCudaState g_state{};
std::vector<void*> g_run_streams; // per kernel run, as g_state.launches counts them
int g_context_object = 0;         // its address is the one primary context
thread_local CUcontext t_current = nullptr;

using Work = std::function<void()>;
using WorkList = std::vector<Work>;

struct FakeStream {
  WorkList* capture = nullptr; // non-null while capturing
};
struct FakeFunction {
  std::string name;
};
struct FakeModule {
  std::string image;
  // A CUfunction lives as long as its module, as the driver's do.
  std::map<std::string, std::unique_ptr<FakeFunction>, std::less<>> functions;
};
struct FakeEvent {
  double ms = 0.0;
};

CUcontext primary() {
  return reinterpret_cast<CUcontext>(&g_context_object);
}
bool in_context() {
  return t_current == primary() && g_state.context_refs > 0;
}

template <class T>
T* ptr(CUdeviceptr p) {
  return reinterpret_cast<T*>(static_cast<uintptr_t>(p));
}
template <class T>
T arg(void** args, int i) {
  T v;
  std::memcpy(&v, args[i], sizeof(T));
  return v;
}

struct Registered {
  KilnFakeKernel fn;
  void* ctx;
  std::vector<unsigned> sizes;
};
std::mutex g_registry_mutex;
KilnFakeResolver g_resolver = nullptr;
std::map<std::string, Registered>& registry() {
  static std::map<std::string, Registered> r;
  return r;
}

// Builds the CPU emulation of one launch, with argument values copied now (as the driver does),
// so a captured launch replays with the values it was captured with.
CUresult emulate(const FakeFunction& fn, unsigned grid, unsigned block, unsigned shared,
                 void** args, Work& out, bool resolve = true) {
  {
    std::lock_guard<std::mutex> lock(g_registry_mutex);
    auto it = registry().find(fn.name);
    if (it != registry().end()) {
      const Registered r = it->second;
      std::vector<std::vector<unsigned char>> values;
      for (size_t i = 0; i < r.sizes.size(); ++i) {
        const auto* p = static_cast<const unsigned char*>(args[i]);
        values.emplace_back(p, p + r.sizes[i]);
      }
      out = [=]() mutable {
        std::vector<void*> ptrs;
        for (auto& v : values)
          ptrs.push_back(v.data());
        r.fn(r.ctx, grid, block, shared, ptrs.data());
      };
      return CUDA_SUCCESS;
    }
  }
  if (resolve && g_resolver != nullptr && fn.name != "fused_tanh_affine" &&
      fn.name != "block_sum" && g_resolver(fn.name.c_str()) != 0)
    return emulate(fn, grid, block, shared, args, out, false);
  if (fn.name == "fused_tanh_affine") {
    const float* x = ptr<const float>(arg<CUdeviceptr>(args, 0));
    float* y = ptr<float>(arg<CUdeviceptr>(args, 1));
    const float a = arg<float>(args, 2), b = arg<float>(args, 3);
    const int n = arg<int>(args, 4);
    out = [=] {
      for (int i = 0; i < n; ++i)
        y[i] = std::tanh(a * x[i] + b);
    };
    return CUDA_SUCCESS;
  }
  if (fn.name == "block_sum") {
    if (shared < block * sizeof(float))
      return CUDA_ERROR_ILLEGAL_ADDRESS;
    const float* x = ptr<const float>(arg<CUdeviceptr>(args, 0));
    float* partial = ptr<float>(arg<CUdeviceptr>(args, 1));
    const int n = arg<int>(args, 2);
    out = [=] {
      std::vector<float> smem(block);
      const long stride = long(block) * grid;
      for (unsigned g = 0; g < grid; ++g) {
        for (unsigned t = 0; t < block; ++t) {
          float acc = 0.0f;
          for (long i = long(g) * block + t; i < n; i += stride)
            acc += x[i];
          smem[t] = acc;
        }
        for (unsigned s = block / 2; s > 0; s >>= 1)
          for (unsigned t = 0; t < s; ++t)
            smem[t] += smem[t + s];
        partial[g] = smem[0];
      }
    };
    return CUDA_SUCCESS;
  }
  return CUDA_ERROR_NOT_SUPPORTED;
}

// An ELF64 image ends with its section header table: e_shoff + e_shnum * e_shentsize.
size_t elf_size(const char* p) {
  uint64_t shoff = 0;
  uint16_t shentsize = 0, shnum = 0;
  std::memcpy(&shoff, p + 0x28, 8);
  std::memcpy(&shentsize, p + 0x3a, 2);
  std::memcpy(&shnum, p + 0x3c, 2);
  return static_cast<size_t>(shoff) + size_t(shentsize) * shnum;
}

struct Named {
  CUresult code;
  const char* name;
  const char* text;
};
constexpr Named kErrors[] = {
    {CUDA_SUCCESS, "CUDA_SUCCESS", "no error"},
    {CUDA_ERROR_INVALID_VALUE, "CUDA_ERROR_INVALID_VALUE", "invalid argument"},
    {CUDA_ERROR_INVALID_DEVICE, "CUDA_ERROR_INVALID_DEVICE", "invalid device ordinal"},
    {CUDA_ERROR_INVALID_CONTEXT, "CUDA_ERROR_INVALID_CONTEXT", "invalid device context"},
    {CUDA_ERROR_INVALID_IMAGE, "CUDA_ERROR_INVALID_IMAGE", "device kernel image is invalid"},
    {CUDA_ERROR_INVALID_PTX, "CUDA_ERROR_INVALID_PTX", "a PTX JIT compilation failed"},
    {CUDA_ERROR_NOT_FOUND, "CUDA_ERROR_NOT_FOUND", "named symbol not found"},
    {CUDA_ERROR_ILLEGAL_ADDRESS, "CUDA_ERROR_ILLEGAL_ADDRESS",
     "an illegal memory access was encountered"},
    {CUDA_ERROR_NOT_SUPPORTED, "CUDA_ERROR_NOT_SUPPORTED", "operation not supported"},
};

} // namespace

extern "C" {

KilnFakeCudaState* kiln_fake_cuda_state() {
  return &g_state;
}

int kiln_fake_cuda_runs() {
  return static_cast<int>(g_run_streams.size());
}

void* kiln_fake_cuda_run_stream(int i) {
  return i >= 0 && i < kiln_fake_cuda_runs() ? g_run_streams[static_cast<size_t>(i)] : nullptr;
}

void kiln_fake_cuda_set_resolver(KilnFakeResolver resolver) {
  g_resolver = resolver;
}

void kiln_fake_cuda_register(const char* name, KilnFakeKernel fn, void* ctx, int nargs,
                             const unsigned* arg_sizes) {
  std::lock_guard<std::mutex> lock(g_registry_mutex);
  registry()[name] = Registered{fn, ctx, std::vector<unsigned>(arg_sizes, arg_sizes + nargs)};
}

CUresult cuInit(unsigned int) {
  return CUDA_SUCCESS;
}
CUresult cuDriverGetVersion(int* v) {
  return *v = 13000, CUDA_SUCCESS;
}

CUresult cuGetErrorName(CUresult e, const char** s) {
  for (const Named& n : kErrors)
    if (n.code == e)
      return *s = n.name, CUDA_SUCCESS;
  return CUDA_ERROR_INVALID_VALUE;
}
CUresult cuGetErrorString(CUresult e, const char** s) {
  for (const Named& n : kErrors)
    if (n.code == e)
      return *s = n.text, CUDA_SUCCESS;
  return CUDA_ERROR_INVALID_VALUE;
}

CUresult cuDeviceGetCount(int* n) {
  return *n = 1, CUDA_SUCCESS;
}
CUresult cuDeviceGet(CUdevice* d, int ordinal) {
  if (ordinal != 0)
    return CUDA_ERROR_INVALID_DEVICE;
  return *d = 0, CUDA_SUCCESS;
}
CUresult cuDeviceGetName(char* name, int len, CUdevice) {
  std::strncpy(name, "Kiln Fake GPU", static_cast<size_t>(len));
  return CUDA_SUCCESS;
}
CUresult cuDeviceGetAttribute(int* v, CUdevice_attribute a, CUdevice) {
  switch (a) {
  case CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR:
    *v = g_state.cc_major != 0 ? g_state.cc_major : 9;
    break;
  case CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR:
    *v = g_state.cc_major != 0 ? g_state.cc_minor : 0;
    break;
  case CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT:
    *v = 4;
    break;
  case CU_DEVICE_ATTRIBUTE_MAX_THREADS_PER_BLOCK:
    *v = 1024;
    break;
  case CU_DEVICE_ATTRIBUTE_WARP_SIZE:
    *v = 32;
    break;
  case CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_BLOCK:
    *v = 48 * 1024;
    break;
  case CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_BLOCK_OPTIN:
    *v = 227 * 1024;
    break;
  default:
    return CUDA_ERROR_INVALID_VALUE;
  }
  return CUDA_SUCCESS;
}
CUresult cuDeviceTotalMem_v2(size_t* bytes, CUdevice) {
  return *bytes = size_t(1) << 34, CUDA_SUCCESS;
}

CUresult cuDevicePrimaryCtxRetain(CUcontext* c, CUdevice) {
  ++g_state.context_refs;
  return *c = primary(), CUDA_SUCCESS;
}
CUresult cuDevicePrimaryCtxRelease_v2(CUdevice) {
  if (g_state.context_refs <= 0)
    return CUDA_ERROR_INVALID_CONTEXT;
  --g_state.context_refs;
  return CUDA_SUCCESS;
}
CUresult cuCtxGetCurrent(CUcontext* c) {
  return *c = t_current, CUDA_SUCCESS;
}
CUresult cuCtxSetCurrent(CUcontext c) {
  if (c != nullptr && c != primary())
    return CUDA_ERROR_INVALID_CONTEXT;
  return t_current = c, CUDA_SUCCESS;
}

CUresult cuMemAlloc_v2(CUdeviceptr* p, size_t bytes) {
  if (!in_context())
    return CUDA_ERROR_INVALID_CONTEXT;
  if (bytes == 0)
    return CUDA_ERROR_INVALID_VALUE;
  *p = reinterpret_cast<CUdeviceptr>(::operator new(bytes));
  ++g_state.live_allocations;
  return CUDA_SUCCESS;
}
CUresult cuMemFree_v2(CUdeviceptr p) {
  if (!in_context())
    return CUDA_ERROR_INVALID_CONTEXT;
  ::operator delete(ptr<void>(p));
  --g_state.live_allocations;
  return CUDA_SUCCESS;
}
CUresult cuMemcpyHtoD_v2(CUdeviceptr dst, const void* src, size_t n) {
  if (!in_context())
    return CUDA_ERROR_INVALID_CONTEXT;
  std::memcpy(ptr<void>(dst), src, n);
  return CUDA_SUCCESS;
}
CUresult cuMemcpyDtoH_v2(void* dst, CUdeviceptr src, size_t n) {
  if (!in_context())
    return CUDA_ERROR_INVALID_CONTEXT;
  std::memcpy(dst, ptr<void>(src), n);
  return CUDA_SUCCESS;
}
CUresult cuMemcpyHtoDAsync_v2(CUdeviceptr dst, const void* src, size_t n, CUstream) {
  return cuMemcpyHtoD_v2(dst, src, n);
}
CUresult cuMemcpyDtoHAsync_v2(void* dst, CUdeviceptr src, size_t n, CUstream) {
  return cuMemcpyDtoH_v2(dst, src, n);
}

CUresult cuModuleLoadData(CUmodule* m, const void* image) {
  if (!in_context())
    return CUDA_ERROR_INVALID_CONTEXT;
  const char* p = static_cast<const char*>(image);
  const bool elf = std::memcmp(p, "\177ELF", 4) == 0;
  std::string text = elf ? std::string(p, elf_size(p)) : std::string(p);
  if (!elf && text.find(".version") == std::string::npos)
    return CUDA_ERROR_INVALID_PTX;
  *m = reinterpret_cast<CUmodule>(new FakeModule{std::move(text), {}});
  ++g_state.live_modules;
  return CUDA_SUCCESS;
}
CUresult cuModuleUnload(CUmodule m) {
  delete reinterpret_cast<FakeModule*>(m);
  --g_state.live_modules;
  return CUDA_SUCCESS;
}
CUresult cuModuleGetFunction(CUfunction* f, CUmodule m, const char* name) {
  auto* module = reinterpret_cast<FakeModule*>(m);
  if (module->image.find(name) == std::string::npos)
    return CUDA_ERROR_NOT_FOUND;
  std::unique_ptr<FakeFunction>& fn = module->functions[name];
  if (!fn)
    fn = std::make_unique<FakeFunction>(FakeFunction{name});
  *f = reinterpret_cast<CUfunction>(fn.get());
  return CUDA_SUCCESS;
}
CUresult cuFuncSetAttribute(CUfunction, CUfunction_attribute a, int v) {
  ++g_state.func_attribute_calls;
  if (a == CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES)
    g_state.last_dynamic_shared = v;
  return CUDA_SUCCESS;
}

CUresult cuLaunchKernel(CUfunction f, unsigned gx, unsigned gy, unsigned gz, unsigned bx,
                        unsigned by, unsigned bz, unsigned shared, CUstream s, void** args,
                        void** extra) {
  if (!in_context())
    return CUDA_ERROR_INVALID_CONTEXT;
  if (gy != 1 || gz != 1 || by != 1 || bz != 1 || extra != nullptr || args == nullptr)
    return CUDA_ERROR_NOT_SUPPORTED;
  Work work;
  if (CUresult r = emulate(*reinterpret_cast<FakeFunction*>(f), gx, bx, shared, args, work))
    return r;
  auto* stream = reinterpret_cast<FakeStream*>(s);
  if (stream != nullptr && stream->capture != nullptr) {
    stream->capture->push_back(std::move(work));
  } else {
    work();
    ++g_state.launches;
    g_run_streams.push_back(s);
  }
  return CUDA_SUCCESS;
}

CUresult cuStreamCreate(CUstream* s, unsigned int) {
  if (!in_context())
    return CUDA_ERROR_INVALID_CONTEXT;
  *s = reinterpret_cast<CUstream>(new FakeStream);
  ++g_state.live_streams;
  return CUDA_SUCCESS;
}
CUresult cuStreamSynchronize(CUstream) {
  return CUDA_SUCCESS;
}
CUresult cuStreamDestroy_v2(CUstream s) {
  delete reinterpret_cast<FakeStream*>(s);
  --g_state.live_streams;
  return CUDA_SUCCESS;
}

CUresult cuEventCreate(CUevent* e, unsigned int) {
  *e = reinterpret_cast<CUevent>(new FakeEvent);
  ++g_state.live_events;
  return CUDA_SUCCESS;
}
CUresult cuEventRecord(CUevent e, CUstream) {
  using namespace std::chrono;
  reinterpret_cast<FakeEvent*>(e)->ms =
      duration<double, std::milli>(steady_clock::now().time_since_epoch()).count();
  return CUDA_SUCCESS;
}
CUresult cuEventSynchronize(CUevent) {
  return CUDA_SUCCESS;
}
CUresult cuEventElapsedTime_v2(float* ms, CUevent a, CUevent b) {
  *ms =
      static_cast<float>(reinterpret_cast<FakeEvent*>(b)->ms - reinterpret_cast<FakeEvent*>(a)->ms);
  return CUDA_SUCCESS;
}
CUresult cuEventDestroy_v2(CUevent e) {
  delete reinterpret_cast<FakeEvent*>(e);
  --g_state.live_events;
  return CUDA_SUCCESS;
}

CUresult cuStreamBeginCapture_v2(CUstream s, CUstreamCaptureMode) {
  auto* stream = reinterpret_cast<FakeStream*>(s);
  if (stream == nullptr || stream->capture != nullptr)
    return CUDA_ERROR_INVALID_VALUE;
  stream->capture = new WorkList;
  return CUDA_SUCCESS;
}
CUresult cuStreamEndCapture(CUstream s, CUgraph* g) {
  auto* stream = reinterpret_cast<FakeStream*>(s);
  if (stream == nullptr || stream->capture == nullptr)
    return CUDA_ERROR_INVALID_VALUE;
  *g = reinterpret_cast<CUgraph>(std::exchange(stream->capture, nullptr));
  ++g_state.live_graphs;
  return CUDA_SUCCESS;
}
CUresult cuGraphInstantiateWithFlags(CUgraphExec* e, CUgraph g, unsigned long long) {
  *e = reinterpret_cast<CUgraphExec>(new WorkList(*reinterpret_cast<WorkList*>(g)));
  ++g_state.live_graphs;
  return CUDA_SUCCESS;
}
CUresult cuGraphLaunch(CUgraphExec e, CUstream s) {
  if (!in_context())
    return CUDA_ERROR_INVALID_CONTEXT;
  for (const Work& w : *reinterpret_cast<WorkList*>(e)) {
    w();
    ++g_state.launches;
    g_run_streams.push_back(s);
  }
  return CUDA_SUCCESS;
}
CUresult cuGraphExecDestroy(CUgraphExec e) {
  delete reinterpret_cast<WorkList*>(e);
  --g_state.live_graphs;
  return CUDA_SUCCESS;
}
CUresult cuGraphDestroy(CUgraph g) {
  delete reinterpret_cast<WorkList*>(g);
  --g_state.live_graphs;
  return CUDA_SUCCESS;
}

} // extern "C"
