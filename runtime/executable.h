#pragma once
// A compiled graph: its program on one device (runtime/program.h), its parameters and the
// buffers it reuses between calls. The same on every device.
//
//   kiln::Executable exe = kiln::Executable::compile(graph);
//   exe.set_params(kiln::init_parameters(net.params, /*seed=*/0));
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
#include "ir/interpret.h"
#include "runtime/matrix.h"
#include "runtime/options.h"

namespace kiln {

namespace runtime {
class Program;
} // namespace runtime

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

  /**
   * Sets every param named in `values` that the graph has (others are ignored), e.g. the
   * initial values kiln::init_parameters draws; throws kiln::ShapeError on a size mismatch.
   */
  void set_params(const ir::Bindings& values);
  /**
   * Copies values into param `name`, given as param() returns it: a matrix [rows, cols] (a
   * param of rank 3 or more as [dim 0, the rest]), a vector as one column or one row, a scalar
   * as 1x1. Throws kiln::ShapeError for any other shape, a transposed matrix of the same size
   * included.
   */
  void set_param(std::string_view name, const MatrixRM& values);
  /** As above from a tensor, whose dims must be the param's. */
  void set_param(std::string_view name, const ir::Tensor& values);
  /**
   * The current values of param `name` as a matrix: [rows, cols] for a matrix, [n, 1] for a
   * vector (a column, as run() returns vector outputs), 1x1 for a scalar.
   */
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
   * Runs the fused epoch (compiled with CompileOptions::epoch) over the samples in `data`: one
   * view per input of the epoch's data (CompileOptions::epoch->data, e.g. "y" and "c"), by
   * name, all with the same number of rows; other inputs (e.g. "lr") come from `feed`.
   * Shuffles with kiln::Rng(seed) when `shuffle`. Returns each metric averaged over the epoch
   * (weighted by batch size). Before the kernel runs, throws kiln::ShapeError when a view's
   * dtype or columns differ from its input or the row counts disagree, and kiln::DataError
   * when a label is outside the class count.
   */
  std::vector<double> run_epoch(int64_t batch, bool shuffle, uint64_t seed, const Feed& data,
                                const Feed& feed = {});
  /**
   * As above from raw pointers: data[k] points at all n rows of input epoch->data[k]. The
   * caller vouches for the rows; labels are still checked.
   */
  std::vector<double> run_epoch(int64_t n, int64_t batch, bool shuffle, uint64_t seed,
                                const std::vector<const void*>& data, const Feed& feed = {});

  /**
   * The metrics of the fused evaluation (compiled with CompileOptions::evaluate) over n resident
   * samples: data[k] points at all n rows of input evaluate->data[k] (read in place); other
   * inputs (e.g. a learning rate the graph reads) come from `feed`. Returns each metric averaged
   * over the samples. Labels are checked as in run(). Where the backend has no fused evaluation,
   * the kernel runs block by block.
   */
  std::vector<double> evaluate(int64_t n, const std::vector<const void*>& data,
                               const Feed& feed = {});

  /**
   * Runs the kernel. Every input must be fed with its declared static dims; the batch size N
   * is read from the inputs. Integer labels are checked against the class count of the ops
   * that use them, and a name the graph has no input of is an error. Returns every output as a
   * float matrix: [N or 1, rest of the dims] (a vector is a column). Throws kiln::Error when an
   * output is f64, which floats would round: use run_f64().
   */
  std::map<std::string, MatrixRM> run(const Feed& feed);
  /** As run(), every output as a double matrix (f32 outputs widened, f64 ones exact). */
  std::map<std::string, MatrixRMd> run_f64(const Feed& feed);
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
  /** The schedule every backend renders (slots in argument order). */
  const codegen::Schedule& schedule() const;
  /** The generated CPU kernel (source, schedule, slots); throws kiln::Error on a CUDA device. */
  const codegen::CpuKernel& kernel() const;
  /** The generated CUDA module; throws kiln::Error on the CPU. */
  const codegen::CudaKernel& cuda_kernel() const;
  /** CUDA: the launch plan run() uses at batch size N; throws kiln::Error on the CPU. */
  const codegen::CudaPlan& cuda_plan(int64_t batch) const;
  /** Milliseconds spent in compile(): passes, codegen and clang, NVRTC or the cache. */
  double compile_ms() const;
  /** True when the object code came from the disk cache. */
  bool from_cache() const;

  /** The backend's program (runtime/program.h). */
  const runtime::Program& program() const;
  runtime::Program& program();

  struct State;

private:
  explicit Executable(std::unique_ptr<State> s);
  std::unique_ptr<State> s_;
};

} // namespace kiln
