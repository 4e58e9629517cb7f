// The CPU runtime's thread pool (runtime/cpu/thread_pool.h): how it splits a range, nested and
// concurrent calls, KILN_THREADS, and products split over it (codegen/cpu/parallel.h) giving
// exactly the single-threaded results.

#include <catch2/catch.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "base/rng.h"
#include "ir/val.h"
#include "runtime/cpu/thread_pool.h"
#include "runtime/executable.h"

using namespace kiln;
using runtime::ThreadPool;

namespace {

struct Range {
  long long lo, hi;
  int worker, thread_worker;
};

/** Records every range a run hands out. */
struct Recorder {
  std::mutex m;
  std::vector<Range> ranges;
  static void body(void* arg, long long lo, long long hi, int worker) {
    auto* r = static_cast<Recorder*>(arg);
    std::lock_guard<std::mutex> lock(r->m);
    r->ranges.push_back({lo, hi, worker, ThreadPool::worker()});
  }
};

/** Restores the pool's thread count when a test ends. */
struct Threads {
  int saved = ThreadPool::instance().threads();
  explicit Threads(int n) { ThreadPool::instance().set_threads(n); }
  ~Threads() { ThreadPool::instance().set_threads(saved); }
};

} // namespace

TEST_CASE("thread pool: a range splits into contiguous parts, part i on worker i") {
  for (int threads : {1, 2, 3, 5}) {
    Threads use(threads);
    CHECK(ThreadPool::instance().threads() == threads);
    for (long long n : {0LL, 1LL, 2LL, 4LL, 1000LL}) {
      INFO(threads << " threads, n = " << n);
      Recorder rec;
      ThreadPool::instance().run(n, &Recorder::body, &rec);
      std::sort(rec.ranges.begin(), rec.ranges.end(),
                [](const Range& a, const Range& b) { return a.lo < b.lo; });
      CHECK(rec.ranges.size() == static_cast<size_t>(std::min<long long>(threads, n)));
      long long next = 0;
      for (size_t i = 0; i < rec.ranges.size(); ++i) {
        CHECK(rec.ranges[i].lo == next);
        CHECK(rec.ranges[i].hi > rec.ranges[i].lo);
        CHECK(rec.ranges[i].worker == static_cast<int>(i));
        CHECK(rec.ranges[i].thread_worker == static_cast<int>(i));
        next = rec.ranges[i].hi;
      }
      CHECK(next == n);
    }
  }
  Threads clamp(100);
  CHECK(ThreadPool::instance().threads() == ThreadPool::kMaxWorkers);
}

TEST_CASE("thread pool: a body's exception reaches the caller once every range ended") {
  // A runtime body (the chunked evaluation allocates per worker) may throw; on a worker thread
  // that used to end the process. Now run() rethrows it, after the other ranges finished.
  struct Job {
    int throw_on;
    std::atomic<int> finished{0};
    static void body(void* arg, long long, long long, int worker) {
      auto* j = static_cast<Job*>(arg);
      if (worker == j->throw_on)
        throw std::runtime_error("range of worker " + std::to_string(worker) + " failed");
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
      ++j->finished;
    }
  };
  Threads use(3);
  for (int throw_on : {0, 1, 2}) {
    INFO("the body throws on worker " << throw_on);
    Job job{throw_on};
    CHECK_THROWS_WITH(ThreadPool::instance().run(3, &Job::body, &job),
                      "range of worker " + std::to_string(throw_on) + " failed");
    CHECK(job.finished == 2);
  }
  // The pool goes on: a run after the failures splits and completes as before.
  Recorder rec;
  ThreadPool::instance().run(3, &Recorder::body, &rec);
  CHECK(rec.ranges.size() == 3);
}

TEST_CASE("thread pool: a nested run stays on its worker, with its index") {
  Threads use(3);
  struct Outer {
    std::atomic<int> mismatches{0}, calls{0};
    static void inner(void* arg, long long lo, long long hi, int worker) {
      auto* o = static_cast<Outer*>(arg);
      o->calls += 1;
      if (lo != 0 || hi != 10 || worker != ThreadPool::worker())
        o->mismatches += 1;
    }
    static void body(void* arg, long long, long long, int worker) {
      if (worker != ThreadPool::worker())
        static_cast<Outer*>(arg)->mismatches += 1;
      ThreadPool::instance().run(10, &Outer::inner, arg);
    }
  } outer;
  ThreadPool::instance().run(3, &Outer::body, &outer);
  CHECK(outer.calls == 3);
  CHECK(outer.mismatches == 0);
}

TEST_CASE("thread pool: runs from several threads at once all complete") {
  Threads use(2);
  std::atomic<long long> total{0};
  auto body = [](void* arg, long long lo, long long hi, int) {
    *static_cast<std::atomic<long long>*>(arg) += hi - lo;
  };
  std::vector<std::thread> callers;
  for (int t = 0; t < 4; ++t)
    callers.emplace_back([&] {
      for (int i = 0; i < 200; ++i)
        ThreadPool::instance().run(100, body, &total);
    });
  for (std::thread& t : callers)
    t.join();
  CHECK(total == 4 * 200 * 100);
}

// Run by its own ctest entry with KILN_THREADS=3 (tests/runtime/CMakeLists.txt).
TEST_CASE("thread pool: KILN_THREADS sets the number of threads", "[.kiln_threads]") {
  const char* env = std::getenv("KILN_THREADS");
  REQUIRE(env != nullptr);
  CHECK(ThreadPool::instance().threads() == std::atoi(env));
}

TEST_CASE("thread pool: products split over threads give the single-threaded results exactly") {
  // Rows of a dynamic batch (x w^T with a fused tanh) and a depth of N (a weight gradient with an
  // optimizer-like update): 512 rows of 256 x 256 is 67 MFLOP each, well over the threshold.
  ir::Builder b;
  const ir::Val x{b, b.input("x", {ir::DType::F32, ir::Shape{ir::kBatch, 256}})};
  const ir::Val w{b, b.param("w", {ir::DType::F32, ir::Shape{256, 256}})};
  const ir::Val bias{b, b.param("bias", {ir::DType::F32, ir::Shape{256}})};
  const ir::Val h = ir::tanh(ir::matmul(x, w, false, true) + bias);
  b.set_output("h", h.id());
  const ir::Val g = ir::matmul(h, x, true, false);
  b.set_output("w_next", (w - 0.01 * g / ir::sqrt(g * g + 1.0)).id());
  const ir::Graph graph = b.graph();
  // Compiled while the pool has one thread, the products keep plain loops.
  {
    Threads use(1);
    CHECK(Executable::compile(graph, {.name = "pool_products"}).kernel().pool_symbol.empty());
  }
  Executable exe = [&] {
    Threads use(3);
    return Executable::compile(graph, {.name = "pool_products"});
  }();
  CHECK_FALSE(exe.kernel().pool_symbol.empty());
  ir::Bindings values;
  Rng rng(3);
  for (ir::Op op : {ir::Op::Input, ir::Op::Param})
    for (ir::NodeId id : graph.leaves(op)) {
      ir::Tensor t(graph.node(id).type.dtype, graph.node(id).type.shape.concrete(512));
      for (double& e : t.data)
        e = rng.uniform(-1, 1);
      values.emplace(graph.node(id).name(), std::move(t));
    }
  std::vector<ir::Tensor> one;
  {
    Threads use(1);
    one = exe.run_tensors(values);
  }
  for (int threads : {2, 3}) {
    Threads use(threads);
    const std::vector<ir::Tensor> many = exe.run_tensors(values);
    REQUIRE(many.size() == one.size());
    for (size_t i = 0; i < one.size(); ++i) {
      INFO(threads << " threads, output " << i);
      CHECK(many[i].data == one[i].data);
    }
  }
}
