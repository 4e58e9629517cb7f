#pragma once
// Independent jobs (kernel compiles) run side by side on the machine's threads.

#include <functional>
#include <vector>

namespace kiln {

/**
 * Runs every job once, on at most `threads` threads (0: std::thread::hardware_concurrency()),
 * the calling thread among them. Each thread takes the next job in order when it is free, so
 * the costliest job should come first: with more jobs than threads, the long one then runs
 * alone on its thread while the others share the rest (three compiles on two cores as three
 * threads made the longest one share its core; W1's Trainer kernels took 151 ms instead of
 * ~120). Waits for all jobs, then rethrows the exception of the first job that threw.
 */
void run_side_by_side(const std::vector<std::function<void()>>& jobs, unsigned threads = 0);

} // namespace kiln
