#include "bench/harness/benchmarks.h"

#include <cmath>
#include <string>

#include <benchmark/benchmark.h>

#include "base/hash.h"
#include "bench/harness/peak_flops.h"

namespace kiln::bench {

namespace {

using WorkloadPtr = std::shared_ptr<const Workload>;

void step_benchmark(benchmark::State& state, const WorkloadPtr& w, const Peer& peer, int threads) {
  peer.set_threads(threads);
  auto trainer = peer.make(w->step.spec);
  trainer->set_parameters(w->step.init);
  const size_t in = w->step.spec.inputs(), tw = w->step.spec.target_width();
  const int batches = w->data.count / w->batch;
  int b = 0;
  float loss = 0;
  // Steps walk the data set in order, batch after batch, the same way for every peer.
  for (auto _ : state) {
    const size_t row = size_t(b) * w->batch;
    loss = trainer->step(w->data.x.data() + row * in, w->data.y.data() + row * tw, w->batch);
    if (++b == batches)
      b = 0;
  }
  benchmark::DoNotOptimize(loss);
  state.counters["loss"] = loss;
  if (w->report_flops)
    state.counters["flops"] = benchmark::Counter(w->step.spec.step_flops(w->batch),
                                                 benchmark::Counter::kIsIterationInvariantRate);
  peer.set_threads(1);
  if (!std::isfinite(loss))
    state.SkipWithError("the loss is not finite");
}

/** The loss over the whole data set (the fused evaluation), on `threads` threads. */
void eval_benchmark(benchmark::State& state, const WorkloadPtr& w, const Peer& peer, int threads) {
  peer.set_threads(threads);
  auto trainer = peer.make(w->step.spec);
  trainer->set_parameters(w->step.init);
  float loss = 0;
  for (auto _ : state)
    loss = trainer->evaluate(w->data.view());
  benchmark::DoNotOptimize(loss);
  state.counters["loss"] = loss;
  peer.set_threads(1);
  if (!std::isfinite(loss))
    state.SkipWithError("the loss is not finite");
}

void run_benchmark(benchmark::State& state, const WorkloadPtr& w, const Peer& peer) {
  peer.set_threads(1);
  std::unique_ptr<Trainer> trainer;
  float loss = 0, eval_loss = 0;
  for (auto _ : state) {
    for (const Model& model : w->runs) {
      // Building the trainer (and, for kiln, compiling it) is not part of the run.
      state.PauseTiming();
      trainer = peer.make(model.spec);
      trainer->set_parameters(model.init);
      state.ResumeTiming();
      if (!w->eval_each_epoch) {
        loss = trainer->run_epochs(w->data.view(), w->epochs, w->batch, w->shuffle_seed);
        continue;
      }
      // The course's loop: an epoch, then the loss over the whole data set.
      for (int e = 0; e < w->epochs; ++e) {
        trainer->run_epochs(w->data.view(), 1, w->batch, hash_combine(w->shuffle_seed, e));
        eval_loss = trainer->evaluate(w->data.view());
      }
      loss = eval_loss;
    }
  }
  // The last model's last-epoch loss (or evaluated loss): a cross-peer sanity check.
  state.counters["loss"] = loss;
  if (!std::isfinite(loss))
    state.SkipWithError("the loss is not finite");
}

} // namespace

void register_workload_benchmarks(const std::vector<WorkloadPtr>& workloads,
                                  const std::vector<Peer>& peers, int repetitions) {
  for (const WorkloadPtr& w : workloads) {
    for (const Peer& peer : peers) {
      if (peer.supports && !peer.supports(w->step.spec))
        continue;
      for (int threads : w->threads) {
        std::string name = w->name + "_step/" + peer.name;
        if (w->threads.size() > 1)
          name += "/threads:" + std::to_string(threads);
        benchmark::RegisterBenchmark(
            name.c_str(),
            [w, peer, threads](benchmark::State& s) { step_benchmark(s, w, peer, threads); })
            ->Unit(benchmark::kMicrosecond)
            ->UseRealTime()
            ->Repetitions(repetitions)
            ->ReportAggregatesOnly(true);
        // Workloads timed on several threads also time their evaluation (split over threads).
        if (w->threads.size() > 1)
          benchmark::RegisterBenchmark(
              (w->name + "_eval/" + peer.name + "/threads:" + std::to_string(threads)).c_str(),
              [w, peer, threads](benchmark::State& s) { eval_benchmark(s, w, peer, threads); })
              ->Unit(benchmark::kMicrosecond)
              ->UseRealTime()
              ->Repetitions(repetitions)
              ->ReportAggregatesOnly(true);
      }
      if (w->run_name.empty())
        continue;
      const std::string name = w->name + "_" + w->run_name + "/" + peer.name;
      auto* b = benchmark::RegisterBenchmark(
          name.c_str(), [w, peer](benchmark::State& s) { run_benchmark(s, w, peer); });
      b->Unit(benchmark::kMillisecond)->UseRealTime()->ReportAggregatesOnly(true);
      if (peer.slow_runs && w->runs.size() > 1)
        b->Iterations(1)->Repetitions(1);
      else
        b->Repetitions(repetitions);
    }
  }
}

void register_peak_benchmarks(int repetitions) {
  for (int threads : {1, 2}) {
    const std::string name = "peak_fp32/threads:" + std::to_string(threads);
    benchmark::RegisterBenchmark(name.c_str(),
                                 [threads](benchmark::State& state) {
                                   double flops = 0;
                                   for (auto _ : state)
                                     flops += run_fma_loop(threads, 1 << 18);
                                   state.counters["flops"] =
                                       benchmark::Counter(flops, benchmark::Counter::kIsRate);
                                 })
        ->Unit(benchmark::kMillisecond)
        ->UseRealTime()
        ->Repetitions(repetitions)
        ->ReportAggregatesOnly(true);
  }
}

} // namespace kiln::bench
