// Where the time of a training step goes, group by group: renders W5's step (the course's CNN,
// batch 32, Adam; bench/peers/cnn_spec.h), times every loop nest of the generated kernel with the
// thread's CPU time (a call inserted at each group's title line), runs the step a number of
// times and prints each group's milliseconds per step, its share and its ops.
//
//   step_profile [steps] [source.cpp]
//
// steps defaults to 20. With KILN_DUMP_DIR set the instrumented source is written to
// $KILN_DUMP_DIR/step_profile.cpp; given as `source.cpp`, an edited copy of it is compiled in its
// place, so a change to one loop nest can be timed before the renderer emits it.

#include <time.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "base/rng.h"
#include "bench/peers/kiln_cnn.h"
#include "codegen/cpu/renderer.h"
#include "frontend/kiln.h"
#include "ir/passes.h"
#include "runtime/cpu/cpu_jit.h"
#include "train/problem.h"

using namespace kiln;

namespace {

// The thread's CPU time in nanoseconds (clock_gettime, CLOCK_THREAD_CPUTIME_ID = 3, resolved
// from the process by the JIT): on a shared machine wall time counts other processes' turns.
constexpr const char* kProfileSource = R"(
struct kiln_prof_ts { long sec, nsec; };
extern "C" int clock_gettime(int, kiln_prof_ts*);
static unsigned long long kiln_prof_ticks[4096];
static unsigned long long kiln_prof_last;
static int kiln_prof_group = -1;
static inline void kiln_prof_mark(int g) {
  kiln_prof_ts ts;
  clock_gettime(3, &ts);
  const unsigned long long t = (unsigned long long)ts.sec * 1000000000ull + ts.nsec;
  if (kiln_prof_group >= 0) kiln_prof_ticks[kiln_prof_group] += t - kiln_prof_last;
  kiln_prof_last = t;
  kiln_prof_group = g;
}
extern "C" unsigned long long* kiln_prof_result() { return kiln_prof_ticks; }
)";

double thread_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec);
}

} // namespace

int main(int argc, char** argv) {
  const int steps = argc > 1 ? std::atoi(argv[1]) : 20;
  const bench::CnnSpec spec;
  const int64_t batch = spec.batch;
  const train::ProblemGraphs g =
      train::build(train::supervised(bench::cnn_network(spec), 784, 10, Loss::cross_entropy(),
                                     std::make_shared<optim::Adam>(spec.lr)));
  const codegen::CpuKernel k =
      codegen::render_cpu(ir::optimize(g.step->graph), {.updates = g.step->updates});
  // A mark at every group title ("  // [dims]: op %id ...") of the step, one at its end.
  std::string src = k.source;
  const size_t head = src.find("__attribute__((noinline)) static void kiln_step(");
  src.insert(src.rfind('\n', head) + 1, kProfileSource);
  std::vector<std::string> titles;
  for (size_t pos = src.find("\n  // [", head); pos != std::string::npos;
       pos = src.find("\n  // [", pos + 1)) {
    const size_t end = src.find('\n', pos + 1);
    titles.push_back(src.substr(pos + 5, end - pos - 5));
    const std::string mark = "\n  kiln_prof_mark(" + std::to_string(titles.size() - 1) + ");";
    src.insert(pos, mark);
    pos += mark.size();
  }
  const size_t end = src.find("\n}\n", src.find("static void kiln_step("));
  src.insert(end, "\n  kiln_prof_mark(-1);");
  if (argc > 2) {
    std::ifstream in(argv[2]);
    if (!in) {
      std::fprintf(stderr, "step_profile: cannot read %s\n", argv[2]);
      return 1;
    }
    std::ostringstream text;
    text << in.rdbuf();
    src = text.str();
  }
  auto module = runtime::CpuJit::instance().compile(src, {.name = "step_profile"}, nullptr);
  auto fn = module->function<void(long long, void* const*, void*)>(k.name);
  auto result = module->function<unsigned long long*()>("kiln_prof_result");

  Rng rng(1);
  std::vector<std::vector<char>> buffers;
  std::vector<void*> slots;
  for (const codegen::Slot& s : k.schedule.slots) {
    const int64_t n = s.type.shape.numel(batch);
    buffers.emplace_back(static_cast<size_t>(std::max<int64_t>(n, 1) * 4 + 64));
    void* p = buffers.back().data();
    if (s.type.dtype == ir::DType::I32)
      for (int64_t i = 0; i < n; ++i)
        static_cast<int32_t*>(p)[i] = static_cast<int32_t>(rng.below(10));
    else
      for (int64_t i = 0; i < n; ++i)
        static_cast<float*>(p)[i] = s.name == "lr" ? static_cast<float>(spec.lr)
                                    : s.role == codegen::Slot::Role::Param &&
                                            s.name.find('.') != std::string::npos &&
                                            s.name.find("weight") == std::string::npos &&
                                            s.name.find("bias") == std::string::npos
                                        ? 0.0f
                                        : static_cast<float>(rng.uniform(-0.05, 0.05));
    slots.push_back(p);
  }
  std::vector<char> ws(static_cast<size_t>(k.workspace_bytes(batch)) + 64);
  void* w = reinterpret_cast<void*>((reinterpret_cast<uintptr_t>(ws.data()) + 63) & ~uintptr_t{63});
  fn(batch, slots.data(), w); // warm up
  std::memset(result(), 0, sizeof(unsigned long long) * 4096);
  const double t0 = thread_seconds();
  for (int s = 0; s < steps; ++s)
    fn(batch, slots.data(), w);
  const double secs = thread_seconds() - t0;
  const double ticks_per_ms = 1e6;
  const unsigned long long* ticks = result();
  double total = 0;
  for (size_t i = 0; i < titles.size(); ++i)
    total += static_cast<double>(ticks[i]);
  std::printf("%d steps at batch %lld: %.2f ms CPU per step (%.1f GFLOP/s of 2.29 GFLOP)\n", steps,
              static_cast<long long>(batch), 1e3 * secs / steps, 2.29 * steps / secs);
  std::vector<size_t> order(titles.size());
  for (size_t i = 0; i < order.size(); ++i)
    order[i] = i;
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return ticks[a] > ticks[b]; });
  for (size_t i : order) {
    const double ms = static_cast<double>(ticks[i]) / ticks_per_ms / steps;
    if (ms < 0.005)
      continue;
    std::printf("%6.2f ms %5.1f%%  %3zu %.110s\n", ms, 100 * static_cast<double>(ticks[i]) / total,
                i, titles[i].c_str());
  }
  return 0;
}
