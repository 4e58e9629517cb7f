#pragma once
// The CPU backend's Program: a schedule rendered as C++ (codegen/cpu), compiled in-process by
// the Clang JIT (or loaded from the kernel cache), with its params and workspace in 64-byte
// aligned host memory.

#include <cstdint>
#include <memory>
#include <vector>

#include "codegen/cpu/renderer.h"
#include "runtime/program.h"

namespace kiln::runtime {

class CpuModule;

/** 64-byte aligned, zero-initialized host memory that grows on demand. */
class AlignedBuffer {
public:
  /** Grows to at least `bytes` (the contents are then zeros). */
  void resize(size_t bytes);
  void* data() { return mem_.get(); }
  size_t size() const { return bytes_; }

private:
  struct Free {
    void operator()(std::byte* p) const;
  };
  std::unique_ptr<std::byte[], Free> mem_;
  size_t bytes_ = 0;
};

class CpuProgram final : public Program {
public:
  /** Renders `g` and compiles it (see compile_cpu). */
  CpuProgram(const ir::Graph& g, const CompileOptions& options);
  ~CpuProgram() override;

  /** The rendered kernel: sources, schedule, scratch sizes. */
  const codegen::CpuKernel& kernel() const { return kernel_; }

  Device device() const override { return Device::cpu(); }
  const codegen::Schedule& schedule() const override { return kernel_.schedule; }
  bool from_cache() const override;
  void run(int64_t N, const std::vector<void*>& host) override;
  void call(int64_t N, void* const* native) override;
  std::vector<double> run_epoch(int64_t n, int64_t batch, bool shuffle, uint64_t seed,
                                const std::vector<const void*>& data,
                                const std::vector<void*>& host) override;
  std::optional<std::vector<double>> run_evaluate(int64_t n, const std::vector<const void*>& data,
                                                  const std::vector<void*>& host) override;
  void write_param(size_t slot, const void* host) override;
  void read_param(size_t slot, void* host) const override;
  void* param_address(size_t slot) const override { return slots_[slot]; }
  void bind_param(size_t slot, void* native) override { slots_[slot] = native; }
  void set_gradient_ready(const GradientReadyHook* hook) override;

private:
  using StepFn = void(long long, void* const*, void*);
  using EpochFn = void(long long, long long, int, unsigned long long, void* const*, void* const*,
                       void*, double*);

  /** Points the input and output slots at host memory; sizes the workspace for N. */
  void bind(int64_t N, const std::vector<void*>& host);
  /**
   * The fused evaluation of n > evaluate_chunk_ rows: chunks of rows over the pool's workers,
   * their sums added in chunk order (runtime/cpu/evaluate_chunks.h). Slots bound.
   */
  std::vector<double> evaluate_chunks(int64_t n, const std::vector<const void*>& data);
  /** Chunks [lo, hi) on `worker`, chunk c's sums into sums[c * (metrics + 1)...]. */
  void evaluate_range(int64_t lo, int64_t hi, int worker, int64_t n,
                      const std::vector<const void*>& data, double* sums);
  size_t param_bytes(size_t slot) const;

  codegen::CpuKernel kernel_;
  std::shared_ptr<CpuModule> module_;
  StepFn* step_ = nullptr;
  EpochFn* epoch_ = nullptr;
  using EvaluateFn = void(long long, void* const*, void* const*, void*, double*);
  EvaluateFn* evaluate_ = nullptr;
  size_t evaluate_metrics_ = 0;
  int64_t evaluate_chunk_ = 0;
  std::vector<size_t> evaluate_data_; // slots of the evaluation's data inputs
  /** A worker's copy of the slots, with its own outputs and workspace. */
  struct EvaluateWorker {
    std::vector<void*> slots;
    std::vector<AlignedBuffer> outputs; // by slot; only output slots hold memory
    AlignedBuffer workspace;
  };
  std::vector<EvaluateWorker> evaluate_workers_;
  size_t metrics_ = 0;
  std::vector<AlignedBuffer> params_; // by slot; only param slots hold memory
  std::vector<void*> slots_;
  AlignedBuffer workspace_, epoch_workspace_;
};

} // namespace kiln::runtime
