#pragma once
// The message of the kiln::DataError that `f` throws, or a note that it threw nothing, so a test
// can compare the whole text and show it when it differs.

#include "base/error.h"

#include <string>

namespace kiln::test {

template <class F>
std::string data_error_of(F&& f) {
  try {
    f();
  } catch (const DataError& e) {
    return e.what();
  }
  return "<no kiln::DataError thrown>";
}

} // namespace kiln::test
