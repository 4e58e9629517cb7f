#pragma once
// The registry of peers: every implementation measured by kiln_bench (eigen, torch, and kiln's
// own variants once they exist) is one Peer. The workloads are registered for every peer in
// available_peers(), so adding kiln is one entry there, not a copy of each benchmark.

#include <functional>
#include <memory>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "bench/peers/mlp_spec.h"

namespace kiln::bench {

/** One peer's trainer for one model, as the benchmarks drive it. */
class Trainer {
public:
  virtual ~Trainer() = default;
  /** Flat parameters in PyTorch's layout; also resets the optimizer. */
  virtual void set_parameters(std::span<const float> flat) = 0;
  /** One training step on rows [batch, inputs] and targets; returns the loss. */
  virtual float step(const float* x, const float* target, int batch) = 0;
  /** A whole run (shuffle_epoch order, Rng(seed)); returns the last epoch's mean loss. */
  virtual float run_epochs(const DataView<float>& data, int epochs, int batch, uint64_t seed) = 0;
  /** The mean loss over every sample of `data`, parameters unchanged (a per-epoch evaluation). */
  virtual float evaluate(const DataView<float>& data) = 0;
};

/** Adapts any class with EigenMlp's interface (step, run_epochs, evaluate, set_parameters) to
 *  Trainer. */
template <class Model>
class TrainerFor final : public Trainer {
public:
  explicit TrainerFor(const MlpSpec& spec) : model_(spec) {}
  void set_parameters(std::span<const float> flat) override { model_.set_parameters(flat); }
  float step(const float* x, const float* target, int batch) override {
    return model_.step(x, target, batch);
  }
  float run_epochs(const DataView<float>& data, int epochs, int batch, uint64_t seed) override {
    return model_.run_epochs(data, epochs, batch, seed);
  }
  float evaluate(const DataView<float>& data) override { return model_.evaluate(data); }

private:
  Model model_;
};

/** An implementation under measurement. */
struct Peer {
  std::string name; ///< the benchmark name's second part: "W1_step/<name>"
  /** Builds a trainer for the model (outside the timed region: a JIT may compile here). */
  std::function<std::unique_ptr<Trainer>(const MlpSpec&)> make;
  /** Sets the threads the peer may use for what follows. */
  std::function<void(int)> set_threads;
  /** Dispatches op by op (an eager framework): a whole grid takes minutes, so it is timed
   *  once instead of repeated. */
  bool slow_runs = false;
  /** The models it can train (a fixed-shape peer has few); empty: every model. */
  std::function<bool(const MlpSpec&)> supports;
};

/** Peer `name` backed by Model (see TrainerFor). */
template <class Model>
Peer make_peer(std::string name, std::function<void(int)> set_threads, bool slow_runs = false,
               std::function<bool(const MlpSpec&)> supports = {}) {
  return {std::move(name),
          [](const MlpSpec& spec) -> std::unique_ptr<Trainer> {
            return std::make_unique<TrainerFor<Model>>(spec);
          },
          std::move(set_threads), slow_runs, std::move(supports)};
}

/** Every peer built into this harness, in the order they are reported. */
std::vector<Peer> available_peers();

} // namespace kiln::bench
