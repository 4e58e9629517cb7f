#pragma once
// The CPU runtime's threads: one small pool per process that splits a range over the cores.
// Generated code reaches it through kiln_parallel (codegen/cpu/parallel.h): the runtime sets the
// kernel's pool pointer (CpuKernel::pool_symbol) to api() after loading it, so generated code
// needs no header and no OpenMP runtime. Large products split their rows over it; small steps
// never call it (waking a thread costs more than their whole step).

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

namespace kiln::runtime {

/** A body run on [lo, hi) by worker `worker` (0 = the calling thread). */
using PoolBody = void (*)(void* arg, long long lo, long long hi, int worker);

/**
 * What a kernel calls. Generated code declares the same layout (kiln_pool_api in
 * codegen/cpu/parallel.cpp): change both together.
 */
struct KilnPoolApi {
  /** ThreadPool::run on `pool`. */
  void (*run)(void* pool, long long n, PoolBody body, void* arg);
  void* pool;
  /** ThreadPool::worker(): the calling thread's worker index. */
  int (*worker)();
};

class ThreadPool {
public:
  /**
   * The most workers a range is split over. Generated code sizes per-worker scratch for
   * codegen::kCpuMaxWorkers (cpu_program.cpp asserts this is not more).
   */
  static constexpr int kMaxWorkers = 16;

  /**
   * The process's pool: KILN_THREADS threads if set (> 0), else one per core. Its threads start
   * with the first run that splits.
   */
  static ThreadPool& instance();

  /** Threads that run a range, the calling one included (1 to kMaxWorkers). */
  int threads() const { return threads_; }
  /** Uses `n` threads from now on (1: everything on the calling thread), clamped to 1..kMax. */
  void set_threads(int n);

  /**
   * Splits [0, n) into at most threads() contiguous ranges in order and runs
   * body(arg, lo, hi, worker) on each, range i on worker i, range 0 on the calling thread;
   * returns when all are done. A call from inside a body (nested) runs the whole range on the
   * calling worker, with its index; while another thread's run holds the pool, a call runs on
   * the calling thread as worker 0. An exception from a body (a runtime body; generated ones
   * throw none) is rethrown here once every range has ended; the pool stays usable.
   */
  void run(long long n, PoolBody body, void* arg);

  /** The calling thread's worker index: 1.. on the pool's threads, 0 on any other. */
  static int worker();

  /** The table a kernel's pool pointer is set to. */
  const KilnPoolApi* api() const { return &api_; }

  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;
  ~ThreadPool();

private:
  ThreadPool();
  void worker_loop(int index);

  std::mutex run_mutex_; // one run at a time
  std::mutex m_;
  std::condition_variable start_, done_;
  std::vector<std::thread> workers_;
  int threads_ = 1;
  // The current run: generation counts runs so that a worker never runs one twice. Written
  // under m_; generation_, pending_ and stop_ are also polled without it (thread_pool.cpp).
  std::atomic<uint64_t> generation_{0};
  long long n_ = 0;
  int parts_ = 0;
  std::atomic<int> pending_{0};
  PoolBody body_ = nullptr;
  void* arg_ = nullptr;
  std::exception_ptr error_; // a worker's body threw in the current run

  std::atomic<bool> stop_{false};
  KilnPoolApi api_;
};

} // namespace kiln::runtime
