#pragma once
// Internal to runtime/cuda: the state of a CudaProgram, shared by cuda_executable.cpp (compile,
// steps, params) and cuda_epoch.cpp (epochs).

#include <cmath>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/error.h"
#include "runtime/cuda/cuda_device.h"
#include "runtime/cuda/cuda_driver.h"
#include "runtime/cuda/cuda_graph.h"
#include "runtime/cuda/cuda_program.h"
#include "runtime/cuda/nvrtc.h"

namespace kiln::runtime {

using codegen::CudaLaunch;
using codegen::CudaPlan;
using codegen::Slot;

inline constexpr size_t kDefaultShared = 48 * 1024;
inline constexpr size_t kMaxGraphs = 16;

inline size_t bytes_of(const Slot& s, int64_t N) {
  return static_cast<size_t>(s.type.shape.numel(N)) * ir::dtype_bytes(s.type.dtype);
}

inline const CudaDriver& driver() {
  return CudaDriver::get();
}

/** One plan's module, compiled when the plan is first needed (or eagerly, see the constructor). */
struct PlanModule {
  std::optional<CudaModule> module;
  std::map<std::string, CUfunction> fns;
};

struct CudaProgram::Impl {
  codegen::CudaKernel k;
  std::optional<codegen::EpochSpec> epoch;
  int device = 0;
  DeviceInfo info;
  NvrtcOptions nvrtc;
  std::vector<PlanModule> modules; // per plan
  std::shared_ptr<Stream> stream;  // shared with another program by share_stream()
  double nvrtc_ms = 0;
  bool from_cache = false;
  bool graphs_ok = false;

  std::vector<DeviceBuffer> owned; // per slot
  std::vector<CUdeviceptr> ptr;    // per slot: the address kernels get
  std::vector<int64_t> capacity;   // per slot: batch size its buffer holds (-1: none yet)
  DeviceBuffer ws;
  /** Captured steps by (plan, batch size), with the slot addresses they were captured with. */
  std::map<std::pair<const CudaPlan*, int64_t>, std::pair<std::vector<CUdeviceptr>, CudaGraph>>
      graphs;
  // Epoch buffers.
  std::vector<DeviceBuffer> data;
  DeviceBuffer epoch_ws, stats;

  const Slot& slot(size_t s) const { return k.schedule.slots[s]; }

  size_t index_of(const CudaPlan& p) const { return static_cast<size_t>(&p - k.plans.data()); }

  NvrtcOptions options_for(size_t plan) const {
    static constexpr const char* kKind[] = {"per_group", "single_block", "chunked"};
    NvrtcOptions o = nvrtc;
    o.name = nvrtc.name + "_" + kKind[static_cast<int>(k.plans[plan].kind)];
    return o;
  }

  /** Loads a compiled plan and looks up its kernels. */
  void load(size_t plan, const NvrtcResult& compiled) {
    PlanModule& m = modules[plan];
    m.module.emplace(compiled.binary, device);
    for (const CudaLaunch& l : k.plans[plan].launches)
      m.fns.emplace(l.kernel, m.module->function(l.kernel));
    if (k.plans[plan].kind == CudaPlan::Kind::SingleBlock && !k.epoch_kernel.empty())
      m.fns.emplace(k.epoch_kernel, m.module->function(k.epoch_kernel));
  }

  /** The plan's kernels, compiling its module first if it was left for later. */
  const std::map<std::string, CUfunction>& functions(const CudaPlan& p) {
    const size_t i = index_of(p);
    if (!modules[i].module)
      load(i, nvrtc_compile(p.source, options_for(i)));
    return modules[i].fns;
  }

  void upload(CUdeviceptr dst, const void* host, size_t bytes) {
    if (bytes == 0)
      return;
    stream->context().make_current();
    driver().check(driver().require("upload").memcpy_htod(dst, host, bytes),
                   str("cuMemcpyHtoD(", bytes, " bytes)"));
  }
  void download(void* host, CUdeviceptr src, size_t bytes) const {
    if (bytes == 0)
      return;
    stream->context().make_current();
    driver().check(driver().require("download").memcpy_dtoh(host, src, bytes),
                   str("cuMemcpyDtoH(", bytes, " bytes)"));
  }

  /** Sizes buffer `s` for batch N (growing to the next power of two); drops graphs on a move. */
  void ensure(size_t s, int64_t N) {
    const int64_t need = slot(s).type.shape.has_batch() ? std::max<int64_t>(N, 1) : 1;
    if (capacity[s] >= need)
      return;
    int64_t cap = 16;
    while (cap < need)
      cap *= 2;
    if (!slot(s).type.shape.has_batch())
      cap = 1;
    owned[s] = DeviceBuffer(std::max<size_t>(bytes_of(slot(s), cap), 1), device);
    ptr[s] = owned[s].get();
    capacity[s] = cap;
    graphs.clear();
  }

  bool fits(const CudaPlan& p, int64_t N) const {
    for (const CudaLaunch& l : p.launches) {
      const auto shared = static_cast<size_t>(l.shared_bytes(N));
      if (shared > info.shared_per_block_optin)
        return false;
      if (shared > kDefaultShared && !driver().supports(DriverFeature::FuncAttributes))
        return false;
    }
    return true;
  }

  /** The first plan that serves N and fits the device; the per-group plan always does. */
  const CudaPlan& plan_for(int64_t N) const {
    for (const CudaPlan& p : k.plans)
      if ((p.max_batch == 0 || N <= p.max_batch) && fits(p, N))
        return p;
    KILN_ASSERT(false, "no launch plan of ", k.name, " fits device ", device, " at batch size ", N);
    return k.plans.back();
  }

  /** Buffers for the plan's slots and workspace at batch N. */
  void prepare(const CudaPlan& p, int64_t N) {
    for (size_t s = 0; s < k.schedule.slots.size(); ++s)
      if (slot(s).role == Slot::Role::Input || slot(s).role == Slot::Role::Output)
        ensure(s, N);
    for (int s : p.device_scratch)
      ensure(static_cast<size_t>(s), N);
    const auto ws_bytes = static_cast<size_t>(p.workspace_bytes(N));
    if (ws.size() < ws_bytes) {
      ws = DeviceBuffer(ws_bytes, device);
      graphs.clear();
    }
  }

  void launch_all(const CudaPlan& p, int64_t N, const std::vector<CUdeviceptr>& addr) {
    const std::map<std::string, CUfunction>& fns = functions(p);
    int n32 = static_cast<int>(N);
    std::vector<CUdeviceptr> a = addr;
    CUdeviceptr w = ws.get();
    std::vector<void*> args{&n32};
    for (CUdeviceptr& x : a)
      args.push_back(&x);
    args.push_back(&w);
    for (const CudaLaunch& l : p.launches)
      runtime::launch(fns.at(l.kernel), {static_cast<unsigned>(l.blocks(N))},
                      {static_cast<unsigned>(l.block)}, static_cast<unsigned>(l.shared_bytes(N)),
                      *stream, args.data());
  }

  /** Kernels index with 32 bits: every buffer must hold fewer than 2^31 elements. */
  void check_batch(int64_t N) const {
    if (N < 1)
      throw ShapeError(
          str("[cuda] batch size ", N, " is out of range: a step needs at least one sample"));
    for (const Slot& s : k.schedule.slots) {
      if (!s.type.shape.has_batch())
        continue;
      const double elems = static_cast<double>(s.type.shape.static_numel()) *
                           std::pow(static_cast<double>(N), batch_pow_of(s));
      if (elems >= 2147483648.0)
        throw ShapeError(str("[cuda] batch size ", N, " is out of range: '", s.name, "' (", s.type,
                             ") would hold ", static_cast<int64_t>(elems),
                             " elements; CUDA kernels index buffers with 32 bits"));
    }
  }

  static double batch_pow_of(const Slot& s) {
    return static_cast<double>(codegen::Extent::of(s.type.shape).batch_pow);
  }

  /**
   * Runs the plan for N on the stream with the slots at `addr`: a replay of the graph captured
   * for (plan, N) when the addresses are those it was captured with.
   */
  void step(int64_t N, const std::vector<CUdeviceptr>& addr) {
    const CudaPlan& p = plan_for(N);
    prepare(p, N);
    functions(p); // compiles a deferred plan now, not under stream capture
    if (graphs_ok) {
      const auto key = std::make_pair(&p, N);
      auto it = graphs.find(key);
      if (it == graphs.end() || it->second.first != addr) {
        if (it != graphs.end())
          graphs.erase(it);
        if (graphs.size() >= kMaxGraphs)
          graphs.clear();
        try {
          CudaGraph g = CudaGraph::capture(*stream, [&] { launch_all(p, N, addr); });
          it = graphs.emplace(key, std::make_pair(addr, std::move(g))).first;
        } catch (const DeviceError&) {
          graphs_ok = false; // e.g. a driver that cannot capture these launches: run them directly
        }
      }
      if (graphs_ok) {
        it->second.second.launch(*stream);
        return;
      }
    }
    launch_all(p, N, addr);
  }
};

} // namespace kiln::runtime
