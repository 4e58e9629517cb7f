#include "base/side_by_side.h"

#include <algorithm>
#include <atomic>
#include <exception>
#include <system_error>
#include <thread>

namespace kiln {

void run_side_by_side(const std::vector<std::function<void()>>& jobs, unsigned threads) {
  if (threads == 0)
    threads = std::max(1u, std::thread::hardware_concurrency());
  const size_t count = std::min<size_t>(threads, jobs.size());
  std::vector<std::exception_ptr> failed(jobs.size());
  std::atomic<size_t> next{0};
  auto work = [&] {
    for (size_t i = next++; i < jobs.size(); i = next++) {
      try {
        jobs[i]();
      } catch (...) {
        failed[i] = std::current_exception();
      }
    }
  };
  std::vector<std::thread> others;
  for (size_t t = 1; t < count; ++t) {
    try {
      others.emplace_back(work);
    } catch (const std::system_error&) {
      break; // no thread to be had: the ones running take the remaining jobs
    }
  }
  work();
  for (std::thread& t : others)
    t.join();
  for (const std::exception_ptr& e : failed)
    if (e)
      std::rethrow_exception(e);
}

} // namespace kiln
