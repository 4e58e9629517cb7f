// W4 data-parallel: the large ReLU MLP (64-256-256-256-256-10, cross-entropy, Adam, global batch
// 1024 over kiln_bench's 4096 Gaussian-class points) trained by the Trainer on 1 rank (the fused
// epoch) or on the ranks of mpirun (gradient kernel, MPI all-reduce, update kernel per step);
// with --cnn, W5 instead: the course's CNN (bench/peers/cnn_spec.h), global batch 32 over 512
// random 28x28 images. Rank 0 prints one line per measurement for bench/scripts/data_parallel.sh:
//
//   kiln_bench_data_parallel [--epochs 5] [--peaks] [--cnn]  # one process; --peaks: FP32 peaks
//   mpirun -np 2 kiln_bench_data_parallel --epochs 5 [--overlap] [--cnn]   # overlap: each
//                                    # gradient's all-reduce starts as the kernel finishes it
//
// step_ms is wall time; cpu_ms is rank 0's process CPU time per step (all its threads).

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <memory>
#include <string>
#include <vector>

#include "base/rng.h"
#include "bench/harness/peak_flops.h"
#include "bench/harness/workloads.h"
#include "bench/peers/kiln_cnn.h"
#include "trainer/trainer.h"

using namespace kiln;

namespace {

data::Dataset w4_data() {
  const bench::Dataset d = bench::gaussian_classes(4 * 1024, 64, 10, 0x5eed);
  data::Dataset out;
  out.x = Eigen::Map<const MatrixRM>(d.x.data(), d.count, 64);
  out.labels.resize(d.count);
  for (int i = 0; i < d.count; ++i)
    out.labels(i) = static_cast<int>(d.y[static_cast<size_t>(i)]);
  out.num_classes = 10;
  return out;
}

Trainer w4_trainer() {
  return Trainer(nn::Sequential{nn::Linear(64, 256), nn::ReLU(), nn::Linear(256, 256), nn::ReLU(),
                                nn::Linear(256, 256), nn::ReLU(), nn::Linear(256, 256), nn::ReLU(),
                                nn::Linear(256, 10)},
                 Loss::cross_entropy(), std::make_shared<optim::Adam>(1e-3));
}

/** W5's data: `n` images of uniform [0, 1) pixels with labels in 10 classes (seeded). */
data::Dataset w5_data(int n) {
  Rng rng(0x5eed, 5);
  data::Dataset out;
  out.x.resize(n, 784);
  for (Eigen::Index i = 0; i < out.x.size(); ++i)
    out.x.data()[i] = static_cast<float>(rng.uniform());
  out.labels.resize(n);
  for (int i = 0; i < n; ++i)
    out.labels(i) = static_cast<int>(rng.below(10));
  out.num_classes = 10;
  return out;
}

} // namespace

int main(int argc, char** argv) {
  int epochs = 5;
  bool peaks = false, overlap = false, cnn = false;
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--epochs") && i + 1 < argc)
      epochs = std::max(1, std::atoi(argv[++i]));
    else if (!std::strcmp(argv[i], "--peaks"))
      peaks = true;
    else if (!std::strcmp(argv[i], "--overlap"))
      overlap = true;
    else if (!std::strcmp(argv[i], "--cnn"))
      cnn = true;
  }
  std::shared_ptr<Communicator> comm = mpi_available() ? mpi_world() : nullptr;
  const int ranks = comm ? comm->size() : 1;
  const bool rank0 = !comm || comm->rank() == 0;
  if (peaks && rank0 && ranks == 1)
    std::printf("peak_fp32_gflops threads=1 %.1f threads=2 %.1f\n",
                bench::measure_peak_fp32(1) * 1e-9, bench::measure_peak_fp32(2) * 1e-9);

  const bench::CnnSpec spec;
  const data::Dataset d = cnn ? w5_data(16 * spec.batch) : w4_data();
  const int kBatch = cnn ? spec.batch : 1024;
  // W4: forward 2, backward 4 flops per multiply-add of the layer products.
  const double flops = cnn ? bench::CnnSpec::step_flops(spec.batch)
                           : 6.0 * kBatch * (64 * 256 + 3 * 256 * 256 + 256 * 10);
  Trainer t = cnn ? Trainer(bench::cnn_network(spec), Loss::cross_entropy(),
                            std::make_shared<optim::Adam>(spec.lr))
                  : w4_trainer();
  FitOptions o{.epochs = 1, .batch_size = kBatch, .eval_train = false, .progress = false};
  o.comm = ranks > 1 ? comm : nullptr;
  o.overlap_allreduce = overlap;
  const History warm = t.fit(d, nullptr, o); // compiles; its epoch warms caches
  o.epochs = epochs;
  const std::clock_t cpu0 = std::clock();
  const History h = t.fit(d, nullptr, o);
  const double cpu_s = static_cast<double>(std::clock() - cpu0) / CLOCKS_PER_SEC;
  const double steps = static_cast<double>(epochs) * (d.rows() / kBatch);
  // The all-reduce in training also waits for the slower rank; alone, after a barrier, it
  // measures the transfer of the gradient buffer (every param, plus the loss and accuracy).
  double alone_ms = 0;
  if (ranks > 1) {
    size_t n = 2;
    for (const std::string& p : t.param_names())
      n += static_cast<size_t>(t.param(p).size());
    std::vector<float> buffer(n, 1.0f);
    constexpr int kReps = 50;
    comm->allgather(0);
    const auto t0 = std::chrono::steady_clock::now();
    for (int i = 0; i < kReps; ++i)
      comm->allreduce_sum(buffer.data(), n);
    alone_ms =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count() /
        kReps;
  }
  if (rank0)
    std::printf("ranks %d step_ms %.3f allreduce_ms %.3f allreduce_alone_ms %.3f gflops %.1f "
                "compile_s %.2f loss %.4f cpu_ms %.3f overlap %d workload %s\n",
                ranks, 1e3 * h.train_time_s / steps, 1e3 * h.allreduce_time_s / steps, alone_ms,
                flops * steps / h.train_time_s * 1e-9, warm.compile_time_s,
                h.epochs.back().running_loss, 1e3 * cpu_s / steps, overlap ? 1 : 0,
                cnn ? "W5" : "W4");
  return 0;
}
