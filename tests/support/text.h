#pragma once
// Reading generated sources and logs in tests.

#include <cstddef>
#include <string>

namespace kiln::test {

/** Occurrences of `what` in `text`, overlapping ones included. */
inline size_t count(const std::string& text, const std::string& what) {
  size_t n = 0;
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1))
    ++n;
  return n;
}

} // namespace kiln::test
