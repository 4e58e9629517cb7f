// Linked against all of kiln with --no-as-needed (tests/linking/CMakeLists.txt), so every shared
// library on kiln's link line is a DT_NEEDED of this program. It starts, or the test fails: a
// program that needed libcuda.so.1 would not start on a machine without an NVIDIA driver.

#include <cstdio>

#include "trainer/trainer.h"

int main() {
  std::printf("started; device %s\n", kiln::FitOptions{}.device.str().c_str());
  return 0;
}
