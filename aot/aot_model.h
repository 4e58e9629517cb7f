#pragma once
// What the emitted files are rendered from: the spec's graphs, their rendered CPU kernels and
// the tables of the ABI. Internal to kiln_aot (tests use it to JIT the very same graphs).

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "aot/aot.h"
#include "codegen/code_writer.h"
#include "codegen/cpu/renderer.h"
#include "codegen/cuda/renderer.h"
#include "train/step.h"

namespace kiln::aot::detail {

/** One buffer of the ABI: a parameter or an optimizer state tensor, always float. */
struct TensorInfo {
  /** The network's name ("0.weight") or the state's ("0.weight.exp_avg", "step"). */
  std::string name;
  /** Dims as the graph declares them ([] for a scalar). */
  std::vector<int64_t> dims;
  int64_t size = 1;
  /** The optimizer state's starting value (unused for parameters). */
  double init = 0.0;
  /** Values baked in from the checkpoint (empty when the weights are passed in). */
  std::vector<float> baked;
};

/** A validated spec, lowered and rendered. */
struct AotModel {
  std::string name;
  int64_t in_features = 0, out_features = 0;
  bool classification = false;
  bool baked = false;
  /** One line per part: the network, the loss, the optimizer (for the header's comment). */
  std::vector<std::string> description;

  std::vector<TensorInfo> params;
  /** "step" and every "<param>.<state>", in StepGraph::state order; empty without a step. */
  std::vector<TensorInfo> state;

  /** The forward graph (output "F" from input "y"), optimized, and its kernel. */
  ir::Graph forward_graph;
  codegen::CpuKernel forward;
  /** The training step (inputs "y", "c", "lr"; output "loss"), when an optimizer is given. */
  std::optional<StepGraph> step_graph;
  std::optional<codegen::CpuKernel> step;
  /** The CUDA kernels of the same graphs (AotSpec::cuda). */
  std::optional<codegen::CudaKernel> cuda_forward, cuda_step;
};

/**
 * Checks the spec, lowers the network, builds the step, renders both kernels exactly as
 * Executable::compile would (optimized graph, same updates) and reads the checkpoint. Throws
 * as emit() documents.
 */
AotModel build_model(const AotSpec& spec);

/** A float literal that reads back as exactly `v`. */
std::string float_literal(float v);
/** `name` in upper case: the prefix of the model's macros. */
std::string macro_prefix(const std::string& name);
/** The index of the tensor named `name` in `ts`, or -1. */
int index_of(const std::vector<TensorInfo>& ts, const std::string& name);

/** `<type> kParam<i>[size] = {...};` for every baked parameter. */
void write_baked_arrays(codegen::CodeWriter& w, const AotModel& m, const std::string& type);

/** The text of <name>.h. */
std::string render_header(const AotModel& m);
/** The text of <name>.cpp. */
std::string render_source(const AotModel& m);
/** The text of <name>.cu (the model has CUDA kernels). */
std::string render_cuda_source(const AotModel& m);

} // namespace kiln::aot::detail
