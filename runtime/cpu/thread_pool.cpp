#include "runtime/cpu/thread_pool.h"

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <exception>
#include <utility>

namespace kiln::runtime {

namespace {

/** The calling thread's worker index, and whether it is inside a body of a run. */
thread_local int tls_worker = 0;
thread_local bool tls_in_run = false;

void run_on(void* pool, long long n, PoolBody body, void* arg) {
  static_cast<ThreadPool*>(pool)->run(n, body, arg);
}

/** Range i of `parts` equal ranges of [0, n). */
std::pair<long long, long long> range(long long n, int parts, int i) {
  return {n * i / parts, n * (i + 1) / parts};
}

/**
 * How long a thread polls for the next run (a worker) or for the workers to finish (the caller)
 * before it sleeps on the condition variable. A step runs one parallel product after another
 * with short serial stretches between them; waking a sleeping thread took tens of microseconds
 * per product on this VM (W4's step at 2 threads: ~1.3 ms of its 10 ms waiting).
 */
constexpr std::chrono::microseconds kSpin{50};

/** Polls `done` for up to kSpin; whether it came true. */
template <class Done>
bool spin_until(const Done& done) {
  const auto until = std::chrono::steady_clock::now() + kSpin;
  while (!done()) {
    if (std::chrono::steady_clock::now() > until)
      return false;
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
  }
  return true;
}

/** Marks the calling thread as inside a body while it runs. */
struct InRun {
  InRun() { tls_in_run = true; }
  ~InRun() { tls_in_run = false; }
};

} // namespace

ThreadPool& ThreadPool::instance() {
  static ThreadPool pool;
  return pool;
}

int ThreadPool::worker() {
  return tls_worker;
}

ThreadPool::ThreadPool() : api_{run_on, this, &ThreadPool::worker} {
  // Room for every worker now: run() adds them from generated code, where growing the vector
  // could throw.
  workers_.reserve(kMaxWorkers);
  int n = static_cast<int>(std::thread::hardware_concurrency());
  if (const char* env = std::getenv("KILN_THREADS"); env && std::atoi(env) > 0)
    n = std::atoi(env);
  set_threads(n);
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard<std::mutex> lock(m_);
    stop_ = true;
  }
  start_.notify_all();
  for (std::thread& t : workers_)
    t.join();
}

void ThreadPool::set_threads(int n) {
  std::lock_guard<std::mutex> run(run_mutex_);
  threads_ = std::clamp(n, 1, kMaxWorkers);
}

void ThreadPool::worker_loop(int index) {
  tls_worker = index;
  uint64_t seen = 0;
  for (;;) {
    spin_until([&] { return stop_ || generation_ != seen; });
    std::unique_lock<std::mutex> lock(m_);
    start_.wait(lock, [&] { return stop_ || generation_ != seen; });
    if (stop_)
      return;
    seen = generation_;
    if (index >= parts_)
      continue;
    const auto [lo, hi] = range(n_, parts_, index);
    const PoolBody body = body_;
    void* arg = arg_;
    lock.unlock();
    std::exception_ptr failed;
    try {
      InRun in;
      body(arg, lo, hi, index);
    } catch (...) { // e.g. a runtime body's allocation: run() rethrows it on the caller
      failed = std::current_exception();
    }
    lock.lock();
    if (failed && !error_)
      error_ = failed;
    if (--pending_ == 0)
      done_.notify_one();
  }
}

void ThreadPool::run(long long n, PoolBody body, void* arg) {
  if (n <= 0)
    return;
  if (tls_in_run) { // nested: this worker's own scratch, no other thread
    body(arg, 0, n, tls_worker);
    return;
  }
  std::unique_lock<std::mutex> run(run_mutex_, std::try_to_lock);
  int parts = run.owns_lock() ? static_cast<int>(std::min<long long>(threads_, n)) : 1;
  // Workers start with the first run that needs them and stay; fewer threads leave some asleep.
  // Where no thread can be started (system_error, or bad_alloc for its state) the run uses the
  // ones there are: run() is also called from generated code, which no exception may cross.
  try {
    while (static_cast<int>(workers_.size()) < parts - 1) {
      const int index = static_cast<int>(workers_.size()) + 1;
      workers_.emplace_back([this, index] { worker_loop(index); });
    }
  } catch (const std::exception&) {
    parts = static_cast<int>(workers_.size()) + 1;
  }
  if (parts <= 1) {
    InRun in;
    body(arg, 0, n, tls_worker);
    return;
  }
  {
    std::lock_guard<std::mutex> lock(m_);
    n_ = n;
    parts_ = parts;
    pending_ = parts - 1;
    body_ = body;
    arg_ = arg;
    ++generation_;
  }
  start_.notify_all();
  std::exception_ptr failed;
  try {
    InRun in;
    const auto [lo, hi] = range(n, parts, 0);
    body(arg, lo, hi, 0);
  } catch (...) {
    failed = std::current_exception();
  }
  spin_until([&] { return pending_ == 0; });
  std::unique_lock<std::mutex> lock(m_);
  done_.wait(lock, [&] { return pending_ == 0; });
  // The calling thread's failure if its range threw, else the first worker's.
  if (!failed)
    failed = std::exchange(error_, nullptr);
  error_ = nullptr;
  if (failed)
    std::rethrow_exception(failed);
}

} // namespace kiln::runtime
