// run_side_by_side: every job once, no more threads than asked, the costliest (first) job taken
// first, and a failing job's exception delivered after the others have finished.

#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <stdexcept>
#include <thread>

#include "base/side_by_side.h"

using namespace kiln;

namespace {

/** Jobs that count their runs and the most of them running at once. */
struct Probe {
  std::atomic<int> running{0}, most{0}, runs{0};
  std::function<void()> job(int ms) {
    return [this, ms] {
      const int now = ++running;
      for (int m = most.load(); now > m && !most.compare_exchange_weak(m, now);)
        ;
      std::this_thread::sleep_for(std::chrono::milliseconds(ms));
      ++runs;
      --running;
    };
  }
};

} // namespace

TEST_CASE("run_side_by_side runs every job once on at most the threads asked for") {
  for (unsigned threads : {1u, 2u, 3u, 8u}) {
    INFO(threads << " threads");
    Probe p;
    std::vector<std::function<void()>> jobs;
    for (int i = 0; i < 6; ++i)
      jobs.push_back(p.job(5));
    run_side_by_side(jobs, threads);
    CHECK(p.runs == 6);
    CHECK(p.most <= static_cast<int>(threads));
    CHECK(p.running == 0);
  }
  Probe none;
  run_side_by_side({}, 2);
  CHECK(none.runs == 0);
}

TEST_CASE("run_side_by_side gives the first job a thread of its own while the others share") {
  // Two threads, a long job and four short ones: the long one runs once on one thread while the
  // other thread takes the short ones in turn, so the long job never waits behind a short one.
  std::atomic<int> short_done_before_long{0};
  std::atomic<bool> long_done{false};
  std::vector<std::function<void()>> jobs{[&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    long_done = true;
  }};
  for (int i = 0; i < 4; ++i)
    jobs.push_back([&] {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
      if (!long_done)
        ++short_done_before_long;
    });
  run_side_by_side(jobs, 2);
  CHECK(long_done);
  CHECK(short_done_before_long == 4);
}

TEST_CASE("run_side_by_side rethrows the first failing job's error after every job ran") {
  std::atomic<int> runs{0};
  std::vector<std::function<void()>> jobs{[&] { ++runs; },
                                          [&] {
                                            ++runs;
                                            throw std::runtime_error("job 1 failed");
                                          },
                                          [&] {
                                            ++runs;
                                            throw std::logic_error("job 2 failed");
                                          },
                                          [&] { ++runs; }};
  for (unsigned threads : {1u, 2u, 4u}) {
    runs = 0;
    INFO(threads << " threads");
    CHECK_THROWS_WITH(run_side_by_side(jobs, threads), "job 1 failed");
    CHECK(runs == 4);
  }
}
