# kiln::nvrtc: the toolkit's libnvrtc and nothing else. FindCUDAToolkit's CUDA::nvrtc also links
# CUDA::cuda_driver, the toolkit's stub libcuda.so; wherever the linker keeps unused libraries
# (clang, gcc's -fsanitize=address, -Wl,--no-as-needed) that makes libcuda.so.1 a DT_NEEDED of
# every program, which then cannot start without an NVIDIA driver. kiln opens the driver with
# dlopen at run time instead (runtime/cuda/cuda_driver.cpp). Included after
# find_package(CUDAToolkit) by KilnDeps.cmake and by the installed package (kilnConfig.cmake).
if(NOT TARGET kiln::nvrtc AND CUDA_nvrtc_LIBRARY)
  add_library(kiln::nvrtc UNKNOWN IMPORTED)
  set_target_properties(kiln::nvrtc PROPERTIES IMPORTED_LOCATION "${CUDA_nvrtc_LIBRARY}")
endif()
