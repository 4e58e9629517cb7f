// cuda_executable_gpu_test: cuda_executable_test.cpp on the process's own driver and device 0.

#include <string>

#include "runtime/cuda/cuda_driver.h"

namespace kiln::test {

bool device_ready(std::string& why) {
  why = runtime::CudaDriver::get().unavailable_reason();
  return runtime::CudaDriver::get().available();
}

} // namespace kiln::test
