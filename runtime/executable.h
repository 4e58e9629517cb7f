#pragma once
// A compiled graph: its kernel, its parameters and the buffers it reuses between calls.
//
//   kiln::Executable exe = kiln::Executable::compile(graph);
//   exe.init_params(net.params, /*seed=*/0);
//   auto out = exe.run({{"y", Y}});            // Eigen in, Eigen out
//   const kiln::MatrixRM& loss = out.at("loss");

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "codegen/cpu/renderer.h"
#include "codegen/cuda/renderer.h"
#include "frontend/expr.h"
#include "ir/interpret.h"
#include "runtime/matrix.h"

namespace kiln {

namespace runtime {
class CpuModule;
class CudaProgram;
class KernelCache;
} // namespace runtime

/** Where an Executable runs. */
struct Device {
  enum class Kind : uint8_t { Cpu, Cuda };
  Kind kind = Kind::Cpu;
  /** CUDA device ordinal (0 for the CPU). */
  int index = 0;

  /** The host CPU, through the in-process Clang JIT. */
  static Device cpu() { return {}; }
  /** CUDA device `i`, through NVRTC and the driver API opened at run time. */
  static Device cuda(int i = 0) { return {Kind::Cuda, i}; }
  bool is_cuda() const { return kind == Kind::Cuda; }
  bool operator==(const Device&) const = default;
  /** "cpu" or "cuda:<i>". */
  std::string str() const { return is_cuda() ? "cuda:" + std::to_string(index) : "cpu"; }
};

/** Options of Executable::compile. */
struct CompileOptions {
  /** Run ir::optimize first (off only to test codegen on a graph as it is). */
  bool optimize = true;
  /** Name for logs and dumped sources. */
  std::string name = "graph";
  /** Disk cache of compiled kernels; nullptr: the default cache (KILN_CACHE_DIR, ...). */
  runtime::KernelCache* cache = nullptr;
  /** Skip the disk cache entirely. */
  bool no_cache = false;
  /** Outputs that replace params after every call (an optimizer step's new weights). */
  std::vector<codegen::Update> updates;
  /** Also compile the fused epoch over these data inputs (see run_epoch). */
  std::optional<codegen::EpochSpec> epoch;
  /**
   * The batch size most calls will use (e.g. the training batch): the CPU kernel gets a copy of
   * the step specialized for it (static loop bounds), used whenever N equals it.
   */
  std::optional<int64_t> batch_hint;
  /**
   * CPU: translation units a large step is split into, compiled side by side (see
   * codegen::CpuOptions::max_units). 0: $KILN_CPU_UNITS if set, else one per core, at most 4.
   */
  int cpu_units = 0;
  /**
   * Where to run. Device::cuda(i) renders CUDA C++ from the same schedule, compiles it with
   * NVRTC and keeps params, outputs and scratch in device memory; compile() throws
   * kiln::DeviceError "[cuda] no GPU: <the driver's reason> ..." where there is none.
   */
  Device device = Device::cpu();
  /** CUDA: approximate float exp/log/tanh/sigmoid/sin/cos/pow (SFU intrinsics, --use_fast_math). */
  bool fast_math = false;
  /**
   * CUDA: the fused MLP plan's layer products on tensor cores in TF32 (inputs rounded to a
   * 10-bit mantissa, f32 sums; see codegen::CudaOptions::tf32). Needs compute capability 8.0
   * or newer: compile() throws kiln::DeviceError on older GPUs. Ignored on the CPU.
   */
  bool tf32 = false;
  /** CUDA: restrict the step's launch plans (for tests; see codegen/cuda/renderer.h). */
  codegen::CudaPlanChoice cuda_plans = codegen::CudaPlanChoice::Auto;
};

/** A read-only view of host data passed to run() without a copy; rows are samples. */
struct HostView {
  const void* data;
  ir::DType dtype;
  std::vector<int64_t> dims;

  HostView(const MatrixRM& m);
  HostView(const MatrixRMd& m);
  HostView(const Eigen::VectorXi& labels);
  HostView(const ir::Tensor& t) = delete; // tensors hold doubles; use run_tensors()
  HostView(const void* data, ir::DType dtype, std::vector<int64_t> dims)
      : data(data), dtype(dtype), dims(std::move(dims)) {}
};

/** Inputs of one call, by name. */
using Feed = std::vector<std::pair<std::string, HostView>>;

/**
 * A graph compiled for the CPU or a CUDA device. Move-only; owns its parameters. On a CUDA
 * device the API is the same: run() uploads the inputs and downloads the outputs, params live
 * on the device (param() and set_param() copy), and param_data() / bind_param() / call() deal
 * in device addresses.
 */
class Executable {
public:
  /**
   * Optimizes, schedules, renders and compiles `g` (a warm disk cache skips clang). Parameters
   * start at zero. Throws kiln::CompileError (with clang's log and the dumped source) if the
   * generated source does not compile.
   */
  static Executable compile(const ir::Graph& g, const CompileOptions& options = {});

  Executable(Executable&&) noexcept;
  Executable& operator=(Executable&&) noexcept;
  ~Executable();

  /** Names of the graph's inputs, params and outputs, in slot order. */
  std::vector<std::string> input_names() const;
  std::vector<std::string> param_names() const;
  std::vector<std::string> output_names() const;

  /** Sets every param named in `specs` from its initializer (see kiln::init_parameters). */
  void init_params(const std::vector<ParamSpec>& specs, uint64_t seed);
  /** Copies values into param `name`; throws kiln::ShapeError on a size mismatch. */
  void set_param(std::string_view name, const MatrixRM& values);
  void set_param(std::string_view name, const ir::Tensor& values);
  /** The current values of param `name`, as a [rows, cols] matrix (a vector is one row). */
  MatrixRM param(std::string_view name) const;
  /**
   * Raw pointer to param `name`'s buffer (float or double, row-major); on a CUDA device, its
   * device address.
   */
  void* param_data(std::string_view name);
  /**
   * Makes param `name` live in caller-owned memory (e.g. another Executable's param_data on
   * the same device), so several kernels share one set of weights. The memory must outlive
   * every later call.
   */
  void bind_param(std::string_view name, void* data);

  /**
   * Runs the fused epoch (compiled with CompileOptions::epoch) over n resident samples:
   * data[k] points at all n rows of input epoch->data[k]; other inputs (e.g. "lr") come from
   * `feed`. Shuffles with kiln::Rng(seed) when `shuffle`. Returns each metric averaged over the
   * epoch (weighted by batch size).
   */
  std::vector<double> run_epoch(int64_t n, int64_t batch, bool shuffle, uint64_t seed,
                                const std::vector<const void*>& data, const Feed& feed = {});

  /**
   * Runs the kernel. Every input must be fed with its declared static dims; the batch size N
   * is read from the inputs. Integer labels are checked against the class count of the ops
   * that use them. Returns every output as a matrix: [N or 1, rest of the dims].
   */
  std::map<std::string, MatrixRM> run(const Feed& feed);
  /** Runs with doubles in and out, whatever the graph's dtypes (for tests against ir::interpret).
   */
  std::vector<ir::Tensor> run_tensors(const ir::Bindings& values);
  /**
   * The bare call, for loops that own their buffers: `slots` holds one pointer per slot of
   * kernel().schedule (inputs, params, outputs; scratch slots are ignored), device addresses
   * on a CUDA device. No checks.
   */
  void call(int64_t batch, void* const* slots);

  /** The device the executable runs on. */
  Device device() const;
  /**
   * The generated CPU kernel (source, schedule, slots). On a CUDA device only its schedule is
   * filled in (the same schedule as cuda_kernel()'s); the source is empty.
   */
  const codegen::CpuKernel& kernel() const;
  /** The generated CUDA module; throws kiln::Error on the CPU. */
  const codegen::CudaKernel& cuda_kernel() const;
  /** CUDA: the launch plan run() uses at batch size N; throws kiln::Error on the CPU. */
  const codegen::CudaPlan& cuda_plan(int64_t batch) const;
  /** Milliseconds spent in compile(): passes, codegen and clang, NVRTC or the cache. */
  double compile_ms() const;
  /** True when the object code came from the disk cache. */
  bool from_cache() const;

  struct State;

private:
  explicit Executable(std::unique_ptr<State> s);
  std::unique_ptr<State> s_;
};

} // namespace kiln
