#pragma once
// The benchmark's workloads: each is a model, a data set and initial weights, made once and
// deterministically (kiln::Rng), so every peer trains exactly the same thing.

#include <cstdint>
#include <string>
#include <vector>

#include "bench/peers/mlp_spec.h"

namespace kiln::bench {

/** Row-major data owned by a workload; view() hands it to a peer. */
struct Dataset {
  std::vector<float> x, y;
  int count = 0;
  DataView<float> view() const { return {x.data(), y.data(), count}; }
};

/** One model with its initial parameters (PyTorch's default init). */
struct Model {
  MlpSpec spec;
  std::vector<float> init;
};

/**
 * A workload: a model trained step by step on `data` in batches of `batch`, and optionally as
 * whole runs (`runs`: each a model trained for `epochs` epochs from its own init, in order).
 */
struct Workload {
  std::string name;         ///< "W1", "W2", ...
  Model step;               ///< the model of the "_step" benchmark
  Dataset data;             ///< read in order by steps, shuffled by whole runs
  int batch = 5;            ///< mini-batch size
  std::vector<int> threads; ///< thread counts to measure
  bool report_flops = false;
  std::string run_name;    ///< "run" or "grid"; empty when there is no whole-run benchmark
  std::vector<Model> runs; ///< the models of one whole run
  int epochs = 0;          ///< epochs per model in a whole run
  /** A whole run evaluates the loss over the whole data set after every epoch (the course's
   *  training loop). */
  bool eval_each_epoch = false;
  uint64_t shuffle_seed = 0;
};

/** sin(x) + N(0, 0.2^2) at `count` points drawn uniformly from [-3, 3]: x [count, 1], y [count, 1].
 */
Dataset sine_regression(int count, uint64_t seed);

/** Points uniform in [-2, 2]^2 labelled 0, 1, 2 by the level sets |x| < 1, |x| < 1.6, else. */
Dataset level_set_classes(int count, uint64_t seed);

/** Inputs N(0, 1) of width `inputs`; labels in [0, classes) from a fixed random linear map. */
Dataset gaussian_classes(int count, int inputs, int classes, uint64_t seed);

/** 1-14-10-1 (tanh, sigmoid), MSE, Adam, batch 5; the whole run is 20 epochs over 2000 points,
 *  each followed by an evaluation of the loss over those points. */
Workload w1_regression();
/** 2-14-10-3 (tanh, sigmoid), softmax cross-entropy, Adam, batch 5. */
Workload w2_classification();
/** The ablation's largest cell, width 32 x depth 32 tanh layers; the whole run is the grid of
 *  widths {2..32} x depths {1..32}, 10 epochs each, 2000 points, batch 5. */
Workload w3_ablation();
/** 64-256-256-256-256-10 ReLU, cross-entropy, Adam, batch 1024; 1 and 2 threads. */
Workload w4_large();

/** All workloads, in order. */
std::vector<Workload> all_workloads();

} // namespace kiln::bench
