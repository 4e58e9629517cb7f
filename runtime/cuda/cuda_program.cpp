#include "runtime/cuda/cuda_program.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <future>
#include <map>
#include <optional>

#include "base/debug.h"
#include "runtime/cuda/cuda_program_impl.h"
#include "runtime/executable.h"

namespace kiln::runtime {

CudaProgram::CudaProgram(codegen::CudaKernel kernel, const CudaProgramOptions& o)
    : impl_(std::make_unique<Impl>()) {
  Impl& m = *impl_;
  driver().require("Executable::compile");
  m.k = std::move(kernel);
  m.epoch = o.epoch;
  m.device = o.device;
  m.info = driver().info(o.device);
  if (o.tf32 && m.info.cc_major < 8)
    throw DeviceError(str("[cuda] tf32 tensor cores need compute capability 8.0 or newer; device ",
                          o.device, " (", m.info.name, ") is ", m.info.cc_major, ".",
                          m.info.cc_minor, " (needed by Executable::compile)"));
  NvrtcOptions nv = nvrtc_options_for(m.info, o.name);
  nv.fast_math = o.fast_math;
  nv.use_cache = o.use_cache;
  nv.cache = o.cache;
  m.nvrtc = nv;
  m.modules.resize(m.k.plans.size());
  // NVRTC costs tens of milliseconds per kernel, so plans compile side by side, and the
  // per-group plan, which only stands in for a chunked plan on devices too small for it, is
  // compiled on first use.
  bool chunked = false;
  for (const CudaPlan& p : m.k.plans)
    chunked = chunked || p.kind == CudaPlan::Kind::Chunked;
  std::vector<size_t> eager;
  for (size_t i = 0; i < m.k.plans.size(); ++i)
    if (!(chunked && m.k.plans[i].kind == CudaPlan::Kind::PerGroup))
      eager.push_back(i);
  const auto t0 = std::chrono::steady_clock::now();
  std::vector<std::future<NvrtcResult>> compiles;
  for (size_t i : eager)
    compiles.push_back(std::async(std::launch::async, [&m, i] {
      return nvrtc_compile(m.k.plans[i].source, m.options_for(i));
    }));
  std::vector<NvrtcResult> results;
  for (auto& f : compiles)
    results.push_back(f.get()); // rethrows a CompileError
  m.nvrtc_ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  m.from_cache = true;
  for (size_t j = 0; j < eager.size(); ++j) {
    m.from_cache = m.from_cache && results[j].from_cache;
    m.load(eager[j], results[j]);
  }
  m.stream = std::make_shared<Stream>(o.device);
  m.graphs_ok = driver().supports(DriverFeature::Graphs);
  const size_t n = m.k.schedule.slots.size();
  m.owned.resize(n);
  m.ptr.assign(n, 0);
  m.capacity.assign(n, -1);
  for (size_t s = 0; s < n; ++s) {
    if (m.slot(s).role != Slot::Role::Param)
      continue;
    m.ensure(s, 1);
    const std::vector<std::byte> zeros(bytes_of(m.slot(s), 1));
    m.upload(m.ptr[s], zeros.data(), zeros.size());
  }
}

CudaProgram::~CudaProgram() = default;

const codegen::CudaKernel& CudaProgram::kernel() const {
  return impl_->k;
}
Device CudaProgram::device() const {
  return Device::cuda(impl_->device);
}
const codegen::Schedule& CudaProgram::schedule() const {
  return impl_->k.schedule;
}
double CudaProgram::nvrtc_ms() const {
  return impl_->nvrtc_ms;
}
bool CudaProgram::from_cache() const {
  return impl_->from_cache;
}
const std::string& CudaProgram::device_name() const {
  return impl_->info.name;
}
const CudaPlan& CudaProgram::plan_for(int64_t N) const {
  return impl_->plan_for(N);
}
bool CudaProgram::uses_graphs() const {
  return impl_->graphs_ok;
}

void CudaProgram::write_param(size_t s, const void* host) {
  impl_->upload(impl_->ptr[s], host, bytes_of(impl_->slot(s), 1));
}
void CudaProgram::read_param(size_t s, void* host) const {
  impl_->download(host, impl_->ptr[s], bytes_of(impl_->slot(s), 1));
}
void* CudaProgram::param_address(size_t s) const {
  return reinterpret_cast<void*>(impl_->ptr[s]);
}

void CudaProgram::bind_param(size_t s, void* device_address) {
  impl_->ptr[s] = reinterpret_cast<CUdeviceptr>(device_address);
  impl_->graphs.clear();
}

void CudaProgram::run(int64_t N, const std::vector<void*>& host) {
  Impl& m = *impl_;
  m.check_batch(N);
  m.prepare(m.plan_for(N), N);
  for (size_t s = 0; s < m.k.schedule.slots.size(); ++s)
    if (m.slot(s).role == Slot::Role::Input && host[s])
      m.upload(m.ptr[s], host[s], bytes_of(m.slot(s), N));
  m.step(N, m.ptr);
  for (size_t s = 0; s < m.k.schedule.slots.size(); ++s)
    if (m.slot(s).role == Slot::Role::Output && host[s])
      m.download(host[s], m.ptr[s], bytes_of(m.slot(s), N));
}

void CudaProgram::call(int64_t N, void* const* device_slots) {
  enqueue(N, device_slots);
  impl_->stream->synchronize();
}

void CudaProgram::enqueue(int64_t N, void* const* device_slots) {
  Impl& m = *impl_;
  m.check_batch(N);
  const CudaPlan& p = m.plan_for(N);
  m.prepare(p, N);
  std::vector<CUdeviceptr> addr = m.ptr;
  for (size_t s = 0; s < addr.size(); ++s)
    if (m.slot(s).role != Slot::Role::Scratch)
      addr[s] = reinterpret_cast<CUdeviceptr>(device_slots[s]);
  m.step(N, addr);
}

void CudaProgram::share_stream(const CudaProgram& other) {
  KILN_ASSERT(other.impl_->device == impl_->device, "share_stream across devices ",
              other.impl_->device, " and ", impl_->device);
  impl_->stream = other.impl_->stream;
  impl_->graphs.clear(); // captured on the old stream
}

void* CudaProgram::stream_handle() const {
  return impl_->stream->get();
}

std::unique_ptr<Program> compile_cuda(const ir::Graph& g, const CompileOptions& o) {
  codegen::CudaKernel ck = codegen::render_cuda(g, {.updates = o.updates,
                                                    .epoch = o.epoch,
                                                    .fast_math = o.fast_math,
                                                    .tf32 = o.tf32,
                                                    .plans = o.cuda_plans});
  if (debug_level() >= 1) {
    std::string plans;
    for (const codegen::CudaPlan& p : ck.plans)
      plans += "  " + p.summary + "\n";
    std::fprintf(stderr, "[kiln] %s on %s: %zu nodes, schedule:\n%splans:\n%s", o.name.c_str(),
                 o.device.str().c_str(), g.size(), ck.schedule.describe().c_str(), plans.c_str());
  }
  return std::make_unique<CudaProgram>(std::move(ck), CudaProgramOptions{.device = o.device.index,
                                                                         .fast_math = o.fast_math,
                                                                         .tf32 = o.tf32,
                                                                         .use_cache = !o.no_cache,
                                                                         .cache = o.cache,
                                                                         .name = o.name,
                                                                         .epoch = o.epoch});
}

namespace {
const CudaProgram& as_cuda(const Program& p, const char* what) {
  const auto* cuda = dynamic_cast<const CudaProgram*>(&p);
  if (!cuda)
    throw Error(
        str("[Executable] ", what, ": compiled for ", p.device().str(), ", not a CUDA device"));
  return *cuda;
}
} // namespace

} // namespace kiln::runtime

namespace kiln {

const codegen::CudaKernel& Executable::cuda_kernel() const {
  return runtime::as_cuda(program(), "cuda_kernel()").kernel();
}

const codegen::CudaPlan& Executable::cuda_plan(int64_t batch) const {
  return runtime::as_cuda(program(), "cuda_plan()").plan_for(batch);
}

} // namespace kiln
