#include <chrono>
#include <cstdio>
#include <cstdlib>

#include "base/debug.h"
#include "ir/passes.h"
#include "ir/print.h"

namespace kiln::ir {

namespace {

/** Runs one pass: times it, logs it, and verifies its result when it changed the graph (an
    unchanged graph was verified before; skipping it took 8 % off a cached compile). */
Graph run(const Graph& g, const char* name, Graph (*pass)(const Graph&), bool& changed) {
  const auto t0 = std::chrono::steady_clock::now();
  Graph out = pass(g);
  const double ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  const bool diff = !(out == g);
  changed = changed || diff;
  if (const int level = debug_level(); level >= 1) {
    std::fprintf(stderr, "[kiln] pass %-34s %7.3f ms  %4zu -> %4zu nodes%s\n", name, ms, g.size(),
                 out.size(), diff ? "" : "  (unchanged)");
    if (level >= 2 && diff)
      std::fprintf(stderr, "%s", to_text(out).c_str());
  }
  if (diff)
    verify(out);
  return out;
}

} // namespace

Graph optimize(const Graph& input) {
  verify(input);
  Graph g = input;
  // Each pass can expose work for the others (folding makes x*1, simplifying makes duplicates),
  // so the list runs until it reaches a fixed point; a few rounds suffice in practice.
  for (int round = 0; round < 8; ++round) {
    bool changed = false;
    g = run(g, "fold constants", fold_constants, changed);
    g = run(g, "simplify", simplify, changed);
    g = run(g, "eliminate common subexpressions", eliminate_common_subexpressions, changed);
    g = run(g, "eliminate dead nodes", eliminate_dead_nodes, changed);
    if (!changed)
      break;
  }
  return g;
}

} // namespace kiln::ir
