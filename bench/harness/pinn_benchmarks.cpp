#include "bench/harness/pinn_benchmarks.h"

#include <string>

#include <benchmark/benchmark.h>

#include "frontend/kiln.h"
#include "io/points.h"
#include "ir/passes.h"
#include "runtime/executable.h"
#include "runtime/kernel_cache.h"
#include "train/problem.h"

namespace kiln::bench {

namespace {

enum class Terms { Residual, Boundary, Both };

/** The W6 step (the problem heat_peer.py builds too); weights and points from fixed seeds. */
train::ProblemGraphs w6(Terms terms) {
  nn::Sequential net{nn::Linear(2, 32),  nn::Tanh(), nn::Linear(32, 32), nn::Tanh(),
                     nn::Linear(32, 32), nn::Tanh(), nn::Linear(32, 1)};
  Points interior(256, {2}, "interior"), boundary(64, {2}, "boundary");
  const Expr u = net(interior), x = column(interior, 0), t = column(interior, 1);
  // f = u_t - u_xx for u = (e^(1-x^2) - 1)(t+1)^(-1/2).
  const Expr bump = exp(1.0 - square(x));
  const Expr f = -0.5 * mul(bump - 1.0, pow(t + 1.0, -1.5)) -
                 mul(mul(4.0 * square(x) - 2.0, bump), pow(t + 1.0, -0.5));
  train::Problem p;
  if (terms != Terms::Boundary)
    p.terms.push_back({"residual", mean(square(d(u, interior, 1) - d2(u, interior, 0) - f))});
  if (terms != Terms::Residual)
    p.terms.push_back({"boundary", mean(square(net(boundary)))});
  p.optimizer = std::make_shared<optim::Adam>(1e-3);
  return train::build(p);
}

/** FLOPs of the step's matrix products (2 m n k each), the work a peer cannot avoid either. */
double product_flops(const ir::Graph& g) {
  double flops = 0;
  for (const ir::Node& n : g.nodes())
    if (n.op == ir::Op::MatMul) {
      const ir::Shape& a = g.node(n.inputs[0]).type.shape;
      flops += 2.0 * double(n.type.shape.static_numel()) * double(a[n.attrs.i("ta") ? 0 : 1]);
    }
  return flops;
}

void step(benchmark::State& state, Terms terms) {
  const train::ProblemGraphs g = w6(terms);
  Executable exe = Executable::compile(g.step->graph, {.name = "w6", .updates = g.step->updates});
  exe.set_params(init_parameters(g.params, 1, ir::DType::F64));
  Rng rng(2);
  const data::BoxDomain box({-1.0, 0.0}, {1.0, 10.0});
  const MatrixRM interior = box.interior(256, rng), boundary = box.boundary(64, rng);
  const MatrixRM lr = MatrixRM::Constant(1, 1, 1e-3f);
  Feed feed = {{"lr", lr}};
  if (terms != Terms::Boundary)
    feed.emplace_back("interior", interior);
  if (terms != Terms::Residual)
    feed.emplace_back("boundary", boundary);
  for (auto _ : state)
    benchmark::DoNotOptimize(exe.run(feed));
  state.counters["flops"] = benchmark::Counter(product_flops(ir::optimize(g.step->graph)),
                                               benchmark::Counter::kIsIterationInvariantRate);
}

} // namespace

bool compile_w6_step(runtime::KernelCache* cache) {
  static const train::ProblemGraphs g = w6(Terms::Both);
  return Executable::compile(g.step->graph,
                             {.name = "w6", .cache = cache, .updates = g.step->updates})
      .from_cache();
}

void register_pinn_benchmarks(int repetitions) {
  const std::pair<const char*, Terms> steps[] = {{"W6_step/kiln", Terms::Residual},
                                                 {"W6_step-boundary/kiln", Terms::Boundary},
                                                 {"W6_step-both/kiln", Terms::Both}};
  for (const auto& [name, terms] : steps)
    benchmark::RegisterBenchmark(name, [terms = terms](benchmark::State& s) { step(s, terms); })
        ->Unit(benchmark::kMicrosecond)
        ->UseRealTime()
        ->Repetitions(repetitions)
        ->ReportAggregatesOnly(true);
}

} // namespace kiln::bench
