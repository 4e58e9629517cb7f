# Third-party dependencies. Everything comes from Debian 12 packages (tools/setup.sh installs them)
# except the CUDA toolkit, which lives in /usr/local/cuda. LLVM, Clang and CUDA stay inside runtime/.

find_package(Eigen3 3.3 REQUIRED NO_MODULE)
find_package(ZLIB REQUIRED)
find_package(Threads REQUIRED)
find_package(nlohmann_json 3.10 REQUIRED)

find_package(LLVM 14 REQUIRED CONFIG HINTS /usr/lib/llvm-14/lib/cmake/llvm)
find_package(Clang REQUIRED CONFIG HINTS /usr/lib/llvm-14/lib/cmake/clang)
message(STATUS "kiln: LLVM ${LLVM_PACKAGE_VERSION} (${LLVM_INSTALL_PREFIX})")

# XXH3-128 names and checksums the kernel cache's entries.
find_path(KILN_XXHASH_INCLUDE_DIR xxhash.h REQUIRED)
find_library(KILN_XXHASH_LIBRARY xxhash REQUIRED)

find_path(KILN_STB_INCLUDE_DIR stb_image_write.h PATH_SUFFIXES stb REQUIRED)
# The plots' font (Debian's fonts-dejavu-core); $KILN_PLOT_FONT overrides it at run time.
find_file(KILN_PLOT_FONT DejaVuSans.ttf PATHS /usr/share/fonts/truetype/dejavu REQUIRED)

if(KILN_ENABLE_CUDA)
  if(NOT CUDAToolkit_ROOT AND EXISTS /usr/local/cuda)
    set(CUDAToolkit_ROOT /usr/local/cuda)
  endif()
  find_package(CUDAToolkit QUIET)
  if(CUDAToolkit_FOUND AND TARGET CUDA::nvrtc)
    include(KilnNvrtc)
    message(STATUS "kiln: CUDA ${CUDAToolkit_VERSION}, NVRTC found: CUDA backend on")
    # Optional: data-parallel training on GPUs needs nccl.h's types at build time; libnccl itself
    # is opened at run time (runtime/cuda/nccl.cpp).
    find_path(KILN_NCCL_INCLUDE_DIR nccl.h HINTS ${CUDAToolkit_INCLUDE_DIRS})
    if(KILN_NCCL_INCLUDE_DIR)
      message(STATUS "kiln: nccl.h found: data-parallel training on GPUs on")
    else()
      message(STATUS "kiln: nccl.h not found (apt install libnccl-dev): NCCL off")
    endif()
  else()
    message(STATUS "kiln: NVRTC not found: CUDA backend off")
    set(KILN_ENABLE_CUDA OFF)
  endif()
endif()

if(KILN_ENABLE_MPI)
  # Optional: without it kiln builds and passes, and mpi_world() says it was built without MPI.
  find_package(MPI COMPONENTS C QUIET)
  if(MPI_C_FOUND)
    message(STATUS "kiln: MPI ${MPI_C_VERSION} found: data-parallel training on MPI on")
  else()
    message(STATUS "kiln: MPI not found (apt install libopenmpi-dev openmpi-bin): MPI off")
    set(KILN_ENABLE_MPI OFF)
  endif()
endif()

if(KILN_BUILD_EXAMPLES)
  find_package(CLI11 2 REQUIRED) # the examples' command lines
endif()
if(KILN_BUILD_TESTS)
  find_package(Catch2 2 REQUIRED)
endif()
if(KILN_BUILD_BENCH)
  find_package(benchmark REQUIRED)
endif()
