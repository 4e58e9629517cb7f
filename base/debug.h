#pragma once
// KILN_DEBUG, the one switch for kiln's diagnostics on stderr: 1 logs pass timings, fusion
// decisions and compile times; 2 also prints the IR after each pass that changed it.

#include <cstdlib>
#include <cstring>

namespace kiln {

/**
 * The level KILN_DEBUG asks for now: 0 when unset, empty or "0", its number, else 1 (any other
 * word turns logging on). Read on every call, so tests can set it.
 */
inline int debug_level() {
  const char* v = std::getenv("KILN_DEBUG");
  if (!v || !*v)
    return 0;
  const int level = std::atoi(v);
  return level != 0 ? level : (std::strcmp(v, "0") == 0 ? 0 : 1);
}

} // namespace kiln
