#pragma once
// A test case that cannot run on this machine (no GPU, no driver feature) ends with KILN_SKIP:
// it prints KILN_TEST_SKIPPED and the reason, and ctest reports the case as skipped, never as
// passed (cmake/KilnTesting.cmake gives every test that SKIP_REGULAR_EXPRESSION). Catch2 v2,
// Debian 12's, has no SKIP() of its own.

#include <iostream>

#define KILN_SKIP(why)                                                                             \
  do {                                                                                             \
    std::cout << "KILN_TEST_SKIPPED: " << why << std::endl;                                        \
    WARN("skipped: " << why);                                                                      \
    return;                                                                                        \
  } while (0)
