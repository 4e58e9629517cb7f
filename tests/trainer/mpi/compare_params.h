#pragma once
// How the data-parallel tests (one program per rank under mpirun) check and compare: every
// check printed with its rank and counted, the largest parameter difference (against one
// process, within reduction-order rounding) and a hash of every parameter's bits (equal on every
// rank when the ranks stayed in step).

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>

#include "base/hash.h"
#include "runtime/comm.h"
#include "trainer/trainer.h"

namespace kiln::test {

/** This rank's communicator (main sets it) and the number of its checks that failed. */
inline std::shared_ptr<Communicator> comm;
inline int failures = 0;

/** Prints "rank <r>: ok|FAILED: <what>" and counts a failure. */
inline void expect(bool ok, const std::string& what) {
  std::printf("rank %d: %s: %s\n", comm->rank(), ok ? "ok" : "FAILED", what.c_str());
  std::fflush(stdout);
  if (!ok)
    ++failures;
}

inline double max_difference(const Trainer& a, const Trainer& b) {
  double worst = 0;
  for (const std::string& p : a.param_names())
    worst = std::max(worst, static_cast<double>((a.param(p) - b.param(p)).cwiseAbs().maxCoeff()));
  return worst;
}

inline uint64_t params_hash(const Trainer& t) {
  uint64_t h = 0;
  for (const std::string& p : t.param_names()) {
    const MatrixRM m = t.param(p);
    h = hash_bytes(m.data(), static_cast<size_t>(m.size()) * sizeof(float), h);
  }
  return h;
}

} // namespace kiln::test
