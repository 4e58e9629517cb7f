#include "runtime/cpu/thread_pool.h"

#include <atomic>
#include <condition_variable>
#include <cstdlib>
#include <mutex>
#include <thread>
#include <vector>

#if defined(__x86_64__) || defined(__i386__)
#include <xmmintrin.h>
#endif

#include "base/error.h"
#include "codegen/cpu/renderer.h"

namespace kiln::runtime {

namespace {

unsigned get_csr() {
#if defined(__x86_64__) || defined(__i386__)
  return _mm_getcsr();
#else
  return 0;
#endif
}
void set_csr([[maybe_unused]] unsigned csr) {
#if defined(__x86_64__) || defined(__i386__)
  _mm_setcsr(csr);
#endif
}

int default_threads() {
  if (const char* env = std::getenv("KILN_THREADS")) {
    const int n = std::atoi(env);
    if (n >= 1)
      return n;
  }
  return static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
}

class Pool {
public:
  Pool() { set_threads(default_threads()); }
  ~Pool() { stop_workers(); }

  int threads() const { return threads_.load(); }

  void set_threads(int n) {
    n = std::min(n, codegen::kCpuMaxChunks);
    const std::lock_guard<std::mutex> busy(run_);
    stop_workers();
    threads_ = n;
    stop_ = false;
    // A new worker has seen every run so far (else it would run the last one's stale job).
    const uint64_t seen = generation_;
    for (int w = 1; w < n; ++w)
      workers_.emplace_back([this, w, seen] { work(w, seen); });
  }

  void run(kiln_parallel_task task, void* ctx, long long n) {
    const int threads = threads_.load();
    std::unique_lock<std::mutex> busy(run_, std::try_to_lock);
    if (threads <= 1 || n <= 1 || !busy.owns_lock()) {
      task(ctx, 0, 0, n);
      return;
    }
    const long long chunks = std::min<long long>(threads, n);
    {
      const std::lock_guard<std::mutex> lock(m_);
      job_ = {task, ctx, n, chunks, get_csr()};
      pending_ = static_cast<int>(chunks) - 1;
      ++generation_;
    }
    wake_.notify_all();
    run_chunk(job_, 0);
    std::unique_lock<std::mutex> lock(m_);
    done_.wait(lock, [&] { return pending_ == 0; });
  }

private:
  struct Job {
    kiln_parallel_task task = nullptr;
    void* ctx = nullptr;
    long long n = 0, chunks = 1;
    unsigned csr = 0;
  };

  static void run_chunk(const Job& j, long long c) {
    j.task(j.ctx, c, j.n * c / j.chunks, j.n * (c + 1) / j.chunks);
  }

  void work(int w, uint64_t seen) {
    for (;;) {
      Job j;
      {
        std::unique_lock<std::mutex> lock(m_);
        wake_.wait(lock, [&] { return stop_ || generation_ != seen; });
        if (stop_)
          return;
        seen = generation_;
        j = job_;
      }
      if (w >= j.chunks)
        continue;
      const unsigned saved = get_csr();
      set_csr(j.csr);
      run_chunk(j, w);
      set_csr(saved);
      const std::lock_guard<std::mutex> lock(m_);
      if (--pending_ == 0)
        done_.notify_one();
    }
  }

  void stop_workers() {
    {
      const std::lock_guard<std::mutex> lock(m_);
      stop_ = true;
    }
    wake_.notify_all();
    for (std::thread& t : workers_)
      t.join();
    workers_.clear();
  }

  std::atomic<int> threads_{1};
  std::mutex run_; // one parallel loop at a time
  std::mutex m_;
  std::condition_variable wake_, done_;
  std::vector<std::thread> workers_;
  Job job_;
  int pending_ = 0;
  uint64_t generation_ = 0;
  bool stop_ = false;
};

Pool& pool() {
  static Pool p;
  return p;
}

} // namespace

int cpu_threads() {
  return pool().threads();
}

void set_cpu_threads(int n) {
  if (n < 1)
    throw Error(str("[cpu] the thread count must be >= 1, got ", n));
  pool().set_threads(n);
}

} // namespace kiln::runtime

extern "C" void kiln_parallel_for(kiln_parallel_task task, void* ctx, long long n) {
  kiln::runtime::pool().run(task, ctx, n);
}
