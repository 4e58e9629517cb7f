// Linked against kiln's CUDA library with --no-as-needed (tests/linking/CMakeLists.txt), so every
// shared library on its link line is a DT_NEEDED of this program. It starts, or the test fails:
// a program that needed libcuda.so.1 would not start on a machine without an NVIDIA driver.

#include <cstdio>

#if defined(KILN_PROBE_CUDA)
#include "runtime/cuda/nvrtc.h"
#endif

int main() {
#if defined(KILN_PROBE_CUDA)
  std::printf("started; NVRTC %s\n", kiln::runtime::nvrtc_version().c_str());
#else
  std::printf("started; no CUDA backend in this build\n");
#endif
  return 0;
}
