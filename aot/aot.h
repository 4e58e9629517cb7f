#pragma once
// Ahead of time: a network written with the DSL, emitted as standalone C++ files that build
// with a plain C++17 compiler and need nothing from kiln (no kiln headers, Eigen, LLVM or
// standard library headers beyond <stddef.h> and <stdint.h>).
//
//   using namespace kiln;
//   aot::AotSpec spec;
//   spec.name = "sine";
//   spec.net = nn::Sequential{nn::Linear(1, 14), nn::Tanh(), nn::Linear(14, 1)};
//   spec.in_features = 1;
//   spec.out_features = 1;
//   spec.optimizer = std::make_shared<optim::Adam>(1e-3);
//   spec.checkpoint = "sine.safetensors"; // bake trained weights in ("": pass them in)
//   aot::emit(spec);                      // writes sine.h and sine.cpp
//
// The emitted header declares a C ABI (callable from C; every symbol starts with the name):
//
//   size_t <name>_workspace_bytes(long long n);
//   int <name>_forward(long long n, const float* x, float* y, const float* const* params,
//                      void* workspace);
//   int <name>_train_step(long long n, const float* x, const float* target /* regression */,
//                         /* or: const int32_t* labels (classification) */ float lr,
//                         float* const* params, float* const* optimizer_state, float* loss,
//                         void* workspace);
//   int <name>_init_params(float* const* params);          // copies the baked weights
//   void <name>_init_optimizer_state(float* const* optimizer_state);
//   extern const kiln_aot_tensor <name>_params[], <name>_state[];   // names, sizes, shapes
//
// plus size macros (<NAME>_NUM_PARAMS, <NAME>_PARAM_FLOATS, ...) and the status codes
// KILN_AOT_OK, ... . With AotSpec::cuda, <name>.cu adds <name>_cuda_workspace_bytes,
// <name>_cuda_forward, ... : the same calls on device pointers, enqueued on a CUDA stream. The
// kernels are the ones kiln::Executable JIT-compiles for the same graphs (same schedule, same
// source), so results match the JIT to float rounding.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "frontend/nn.h"
#include "train/loss.h"
#include "train/optim.h"

namespace kiln::aot {

/** What to emit: a network, its loss and optimizer, and where its weights come from. */
struct AotSpec {
  /** A C identifier: the stem of the files and the prefix of every emitted symbol. */
  std::string name;
  /** Folder the files are written to; created when missing. */
  std::string out_dir = ".";
  /** The network: maps an input [N, in_features] to an output [N, out_features]. Required. */
  std::optional<nn::Layer> net;
  int64_t in_features = 0;
  /** The network's outputs per sample; for a classification loss, the number of classes. */
  int64_t out_features = 0;
  /** The loss of the training step (the target is labels when loss.classification). */
  Loss loss = Loss::mse();
  /** The training step's update rule; nullptr emits the forward pass only. */
  std::shared_ptr<optim::Optimizer> optimizer;
  /** Adds weight_decay / 2 * sum ||theta||^2 to the loss, as FitOptions::weight_decay. */
  double weight_decay = 0.0;
  /**
   * A safetensors file written by Trainer::save (or any file with one F32 tensor per
   * parameter, named as the network names them): its values are baked into the .cpp as
   * constants, <name>_forward accepts params == NULL and <name>_init_params copies them out.
   * "" (the default): the weights are always passed in.
   */
  std::string checkpoint;
  /**
   * Also write <name>.cu (build it with nvcc, together with <name>.cpp): the same entry points
   * as <name>_cuda_*, on device memory, running kiln's CUDA kernels for the same graphs.
   */
  bool cuda = false;
};

/** The paths emit() wrote. */
struct AotFiles {
  std::string header;
  std::string source;
  /** <name>.cu; "" unless AotSpec::cuda. */
  std::string cuda;
};

/**
 * Lowers, optimizes and renders the spec's forward pass (and training step when an optimizer is
 * given) and writes <out_dir>/<name>.h and <out_dir>/<name>.cpp (and <name>.cu with
 * AotSpec::cuda).
 * Deterministic: the same spec gives byte-identical files. Each file is written atomically
 * (a temporary file renamed over it), so a build never sees half a file.
 *
 * Throws kiln::Error for an invalid spec (name, missing net, sizes, a network whose output is
 * not [N, out_features]) or an unwritable folder, kiln::ShapeError when lowering fails, and
 * kiln::DataError for a checkpoint that lacks a parameter or holds one of another size, dtype
 * or with a non-finite value.
 */
AotFiles emit(const AotSpec& spec);

} // namespace kiln::aot
