#include "runtime/cpu/cpu_program.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <thread>

#include "base/debug.h"
#include "base/error.h"
#include "codegen/cpu/parallel.h"
#include "runtime/cpu/cpu_jit.h"
#include "runtime/cpu/denormals.h"
#include "runtime/cpu/evaluate_chunks.h"
#include "runtime/cpu/thread_pool.h"
#include "runtime/executable.h"

namespace kiln {

using codegen::Slot;

namespace runtime {

void AlignedBuffer::Free::operator()(std::byte* p) const {
  std::free(p);
}

void AlignedBuffer::resize(size_t n) {
  if (n <= bytes_ && mem_)
    return;
  const size_t rounded = (std::max<size_t>(n, 64) + 63) & ~size_t{63};
  mem_.reset(static_cast<std::byte*>(std::aligned_alloc(64, rounded)));
  if (!mem_)
    throw std::bad_alloc();
  std::memset(mem_.get(), 0, rounded);
  bytes_ = rounded;
}

namespace {

/** Translation units a large step is split into: the option, $KILN_CPU_UNITS, or the cores. */
int unit_count(const CompileOptions& o) {
  int units = o.cpu_units;
  if (const char* env = std::getenv("KILN_CPU_UNITS"); units <= 0 && env && std::atoi(env) > 0)
    units = std::atoi(env);
  if (units <= 0)
    units = static_cast<int>(std::clamp(std::thread::hardware_concurrency(), 1u, 4u));
  return units;
}

} // namespace

CpuProgram::CpuProgram(const ir::Graph& g, const CompileOptions& o) {
  // A large step compiles as several translation units, side by side on the machine's cores.
  kernel_ = codegen::render_cpu(g, {.updates = o.updates,
                                    .epoch = o.epoch,
                                    .evaluate = o.evaluate,
                                    .batch_hint = o.batch_hint,
                                    .max_units = unit_count(o),
                                    .threads = ThreadPool::instance().threads(),
                                    .gradient_ready = o.gradient_ready_hook});
  if (debug_level() >= 1)
    std::fprintf(stderr, "[kiln] %s: %zu nodes, schedule:\n%s", o.name.c_str(), g.size(),
                 kernel_.schedule.describe().c_str());
  KernelCache* cache = o.no_cache ? nullptr : o.cache ? o.cache : &KernelCache::default_cache();
  std::vector<std::string> sources{codegen::trim_prelude(kernel_.source)};
  for (const std::string& part : kernel_.parts)
    sources.push_back(codegen::trim_prelude(part));
  // The short pipeline for the loop over rows of a split row-block step; clang's -O2 for the
  // rest, which runs ~5% slower under the short one (W2's Adam updates; the group path's GEMMs,
  // convolutions and PINN steps up to 40%: bench/results/2026-12-06-compile-passes.md).
  CpuCompileOptions compile_options{.name = kernel_.name};
  compile_options.unit_passes.assign(sources.size(), CpuPasses::Clang);
  if (kernel_.vectorizer_only)
    compile_options.unit_passes[0] = CpuPasses::Kernel;
  module_ = CpuJit::instance().compile(sources, compile_options, cache);
  step_ = module_->function<StepFn>(kernel_.name);
  static_assert(ThreadPool::kMaxWorkers <= codegen::kCpuMaxWorkers,
                "a product's per-worker scratch must cover every worker of the pool");
  if (!kernel_.pool_symbol.empty())
    *static_cast<const KilnPoolApi**>(module_->symbol(kernel_.pool_symbol)) =
        ThreadPool::instance().api();
  if (o.epoch) {
    epoch_ = module_->function<EpochFn>(kernel_.epoch_name);
    metrics_ = o.epoch->metrics.size();
  }
  if (o.evaluate) {
    evaluate_ = module_->function<EvaluateFn>(kernel_.evaluate_name);
    evaluate_metrics_ = o.evaluate->metrics.size();
    evaluate_chunk_ = evaluate_chunk_rows(kernel_.schedule);
    for (const std::string& name : o.evaluate->data)
      for (size_t i = 0; i < kernel_.schedule.slots.size(); ++i)
        if (kernel_.schedule.slots[i].role == Slot::Role::Input &&
            kernel_.schedule.slots[i].name == name)
          evaluate_data_.push_back(i);
  }
  const auto& slots = kernel_.schedule.slots;
  params_.resize(slots.size());
  slots_.assign(slots.size(), nullptr);
  for (size_t i = 0; i < slots.size(); ++i)
    if (slots[i].role == Slot::Role::Param) {
      params_[i].resize(param_bytes(i));
      slots_[i] = params_[i].data();
    }
}

CpuProgram::~CpuProgram() = default;

bool CpuProgram::from_cache() const {
  return module_->from_cache();
}

size_t CpuProgram::param_bytes(size_t slot) const {
  const Slot& s = kernel_.schedule.slots[slot];
  return static_cast<size_t>(s.type.shape.static_numel()) * ir::dtype_bytes(s.type.dtype);
}

void CpuProgram::bind(int64_t N, const std::vector<void*>& host) {
  const auto& slots = kernel_.schedule.slots;
  for (size_t i = 0; i < slots.size(); ++i)
    if (slots[i].role == Slot::Role::Input || slots[i].role == Slot::Role::Output)
      slots_[i] = host[i];
  workspace_.resize(static_cast<size_t>(kernel_.workspace_bytes(N)));
}

void CpuProgram::run(int64_t N, const std::vector<void*>& host) {
  bind(N, host);
  {
    const DenormalsAreZero ftz; // denormals slow training kernels down ~5x
    step_(static_cast<long long>(N), slots_.data(), workspace_.data());
  }
  // Do not keep pointers into the caller's memory.
  for (size_t i = 0; i < slots_.size(); ++i)
    if (kernel_.schedule.slots[i].role != Slot::Role::Param)
      slots_[i] = nullptr;
}

void CpuProgram::call(int64_t N, void* const* native) {
  workspace_.resize(static_cast<size_t>(kernel_.workspace_bytes(N)));
  const DenormalsAreZero ftz;
  step_(static_cast<long long>(N), native, workspace_.data());
}

std::vector<double> CpuProgram::run_epoch(int64_t n, int64_t batch, bool shuffle, uint64_t seed,
                                          const std::vector<const void*>& data,
                                          const std::vector<void*>& host) {
  KILN_ASSERT(epoch_, "run_epoch on a program compiled without an epoch");
  bind(batch, host);
  epoch_workspace_.resize(static_cast<size_t>(kernel_.epoch_workspace_bytes(n, batch)));
  std::vector<double> stats(metrics_ + 1, 0.0);
  {
    const DenormalsAreZero ftz;
    epoch_(static_cast<long long>(n), static_cast<long long>(batch), shuffle ? 1 : 0, seed,
           const_cast<void* const*>(data.data()), slots_.data(), epoch_workspace_.data(),
           stats.data());
  }
  for (size_t i = 0; i < slots_.size(); ++i)
    if (kernel_.schedule.slots[i].role != Slot::Role::Param)
      slots_[i] = nullptr;
  return stats;
}

std::optional<std::vector<double>> CpuProgram::run_evaluate(int64_t n,
                                                            const std::vector<const void*>& data,
                                                            const std::vector<void*>& host) {
  if (!evaluate_)
    return std::nullopt;
  bind(std::min(n, kernel_.evaluate_block), host);
  std::vector<double> stats(evaluate_metrics_ + 1, 0.0);
  if (n > evaluate_chunk_ && evaluate_data_.size() == data.size()) {
    stats = evaluate_chunks(n, data);
  } else {
    const DenormalsAreZero ftz;
    evaluate_(static_cast<long long>(n), const_cast<void* const*>(data.data()), slots_.data(),
              workspace_.data(), stats.data());
  }
  for (size_t i = 0; i < slots_.size(); ++i)
    if (kernel_.schedule.slots[i].role != Slot::Role::Param)
      slots_[i] = nullptr;
  return stats;
}

std::vector<double> CpuProgram::evaluate_chunks(int64_t n, const std::vector<const void*>& data) {
  const int64_t chunks = (n + evaluate_chunk_ - 1) / evaluate_chunk_;
  const size_t width = evaluate_metrics_ + 1;
  std::vector<double> sums(static_cast<size_t>(chunks) * width, 0.0);
  evaluate_workers_.resize(ThreadPool::kMaxWorkers);
  struct Job {
    CpuProgram* program;
    int64_t n;
    const std::vector<const void*>* data;
    double* sums;
  } job{this, n, &data, sums.data()};
  ThreadPool::instance().run(
      chunks,
      [](void* arg, long long lo, long long hi, int worker) {
        const Job& j = *static_cast<const Job*>(arg);
        j.program->evaluate_range(lo, hi, worker, j.n, *j.data, j.sums);
      },
      &job);
  // In chunk order, whatever the threads: the same sum on any number of them.
  std::vector<double> stats(width, 0.0);
  for (int64_t c = 0; c < chunks; ++c)
    for (size_t m = 0; m < width; ++m)
      stats[m] += sums[static_cast<size_t>(c) * width + m];
  return stats;
}

void CpuProgram::evaluate_range(int64_t lo, int64_t hi, int worker, int64_t n,
                                const std::vector<const void*>& data, double* sums) {
  const auto& slots = kernel_.schedule.slots;
  EvaluateWorker& w = evaluate_workers_[static_cast<size_t>(worker)];
  const int64_t rows = std::min(evaluate_chunk_, kernel_.evaluate_block); // per step call
  w.slots = slots_;
  w.outputs.resize(slots.size());
  for (size_t i = 0; i < slots.size(); ++i)
    if (slots[i].role == Slot::Role::Output) {
      w.outputs[i].resize(static_cast<size_t>(slots[i].type.shape.numel(rows)) *
                          ir::dtype_bytes(slots[i].type.dtype));
      w.slots[i] = w.outputs[i].data();
    }
  w.workspace.resize(static_cast<size_t>(kernel_.workspace_bytes(rows)));
  const DenormalsAreZero ftz; // on this worker's thread
  std::vector<const void*> at(data.size());
  for (int64_t c = lo; c < hi; ++c) {
    const int64_t b0 = c * evaluate_chunk_, nb = std::min(evaluate_chunk_, n - b0);
    for (size_t d = 0; d < data.size(); ++d) {
      const Slot& s = slots[evaluate_data_[d]];
      at[d] = static_cast<const std::byte*>(data[d]) +
              static_cast<size_t>(b0 * s.type.shape.static_numel()) * ir::dtype_bytes(s.type.dtype);
    }
    evaluate_(static_cast<long long>(nb), const_cast<void* const*>(at.data()), w.slots.data(),
              w.workspace.data(), sums + static_cast<size_t>(c) * (evaluate_metrics_ + 1));
  }
}

void CpuProgram::set_gradient_ready(const GradientReadyHook* hook) {
  if (kernel_.ready_symbol.empty())
    throw Error("[Executable] set_gradient_ready: the kernel was compiled without "
                "CompileOptions::gradient_ready_hook");
  *static_cast<const GradientReadyHook**>(module_->symbol(kernel_.ready_symbol)) = hook;
}

void CpuProgram::write_param(size_t slot, const void* host) {
  std::memcpy(slots_[slot], host, param_bytes(slot));
}

void CpuProgram::read_param(size_t slot, void* host) const {
  std::memcpy(host, slots_[slot], param_bytes(slot));
}

std::unique_ptr<Program> compile_cpu(const ir::Graph& g, const CompileOptions& options) {
  return std::make_unique<CpuProgram>(g, options);
}

} // namespace runtime

const codegen::CpuKernel& Executable::kernel() const {
  const auto* cpu = dynamic_cast<const runtime::CpuProgram*>(&program());
  if (!cpu)
    throw Error(str("[Executable] kernel(): compiled for ", device().str(),
                    ", not the CPU; see cuda_kernel()"));
  return cpu->kernel();
}

} // namespace kiln
