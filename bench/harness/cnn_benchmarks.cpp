#include "bench/harness/cnn_benchmarks.h"

#include <cmath>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include <benchmark/benchmark.h>

#include "bench/peers/kiln_cnn.h"
#include "runtime/cpu/thread_pool.h"
#ifdef KILN_BENCH_HAVE_TORCH
#include "bench/peers/torch_cnn.h"
#include "bench/peers/torch_mlp.h" // set_torch_threads
#endif

namespace kiln::bench {

namespace {

constexpr uint64_t kInitSeed = 1;
constexpr uint64_t kDataSeed = 20240501;
constexpr int kBatches = 10;

/** A CNN peer's step, type-erased. */
struct CnnTrainer {
  std::function<void(std::span<const float>)> set_parameters;
  std::function<float(const float*, const float*, int)> step;
};

template <class Model>
CnnTrainer trainer_of(std::shared_ptr<Model> m) {
  return {[m](std::span<const float> p) { m->set_parameters(p); },
          [m](const float* x, const float* y, int n) { return m->step(x, y, n); }};
}

struct CnnPeer {
  std::string name;
  std::function<CnnTrainer(const CnnSpec&)> make;
  std::function<void(int)> set_threads;
};

std::vector<CnnPeer> cnn_peers() {
  std::vector<CnnPeer> peers;
  // kiln splits a convolution's images over the runtime's pool (runtime/cpu/thread_pool.h)
  // when its kernel is compiled with more than one thread, as step_benchmark does.
  peers.push_back({"kiln",
                   [](const CnnSpec& s) { return trainer_of(std::make_shared<KilnCnn>(s)); },
                   [](int n) { runtime::ThreadPool::instance().set_threads(n); }});
#ifdef KILN_BENCH_HAVE_TORCH
  peers.push_back({"torch",
                   [](const CnnSpec& s) { return trainer_of(std::make_shared<TorchCnn>(s)); },
                   set_torch_threads});
#endif
  return peers;
}

void step_benchmark(benchmark::State& state, const CnnPeer& peer, int threads) {
  const CnnSpec spec;
  static const std::vector<float> init = cnn_default_init(kInitSeed);
  static const CnnData data = cnn_data(kBatches * spec.batch, kDataSeed);
  peer.set_threads(threads);
  CnnTrainer t = peer.make(spec); // kiln compiles here, outside the timed loop
  t.set_parameters(init);
  int b = 0;
  float loss = 0;
  for (auto _ : state) {
    const size_t row = static_cast<size_t>(b) * static_cast<size_t>(spec.batch);
    loss = t.step(data.x.data() + row * 784, data.y.data() + row, spec.batch);
    if (++b == kBatches)
      b = 0;
  }
  benchmark::DoNotOptimize(loss);
  state.counters["loss"] = loss;
  state.counters["flops"] = benchmark::Counter(CnnSpec::step_flops(spec.batch),
                                               benchmark::Counter::kIsIterationInvariantRate);
  peer.set_threads(1);
  if (!std::isfinite(loss))
    state.SkipWithError("the loss is not finite");
}

} // namespace

void register_cnn_benchmarks(int repetitions) {
  for (const CnnPeer& peer : cnn_peers())
    for (int threads : {1, 2}) {
      const std::string name = "W5_step/" + peer.name + "/threads:" + std::to_string(threads);
      benchmark::RegisterBenchmark(
          name.c_str(), [peer, threads](benchmark::State& s) { step_benchmark(s, peer, threads); })
          ->Unit(benchmark::kMillisecond)
          ->UseRealTime()
          ->Repetitions(repetitions)
          ->ReportAggregatesOnly(true);
    }
}

} // namespace kiln::bench
