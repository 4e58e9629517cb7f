#include "runtime/cuda/cuda_device.h"
#include "runtime/cuda/cuda_driver.h"
#include "runtime/cuda/cuda_graph.h"

#include "cuda_test_util.h"

#include "base/error.h"

#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <vector>

using namespace kiln::runtime;
using kiln::test::ScopedEnv;

namespace {

// Before main, so before anything can call CudaDriver::get(): this executable always sees the
// process driver as unavailable, on a GPU machine too. (cuda_gpu_test covers the GPU.)
const bool kNoGpuForProcess = (setenv("KILN_NO_GPU", "1", 1), true);

constexpr const char* kMissing = "libkiln_no_such_driver.so.1";

bool has(const std::vector<std::string>& v, const std::string& s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

template <class Error, class Fn>
std::string message_of(Fn&& fn) {
  try {
    fn();
  } catch (const Error& e) {
    return e.what();
  }
  return "(nothing was thrown)";
}

} // namespace

TEST_CASE("a missing driver library leaves the driver unavailable with the loader's reason") {
  ScopedEnv gpu_allowed("KILN_NO_GPU", std::nullopt);
  const CudaDriver d(kMissing);
  CHECK_FALSE(d.available());
  CHECK(d.unavailable_reason().rfind(std::string(kMissing) + " not found (no NVIDIA driver): ",
                                     0) == 0);
  CHECK(d.unavailable_reason().find("cannot open shared object file") != std::string::npos);
  CHECK(d.device_count() == 0);
  CHECK(d.driver_version() == 0);
  CHECK_FALSE(d.supports(DriverFeature::Graphs));
  CHECK(d.resolved_symbols().empty());
  CHECK(message_of<kiln::DeviceError>([&] { d.require("cuMemAlloc"); }) ==
        "[cuda] no GPU: " + d.unavailable_reason() + " (needed by cuMemAlloc)");
  CHECK(message_of<kiln::DeviceError>([&] { d.info(0); }) ==
        "[cuda] no GPU: " + d.unavailable_reason() + " (needed by CudaDriver::info)");
}

TEST_CASE("KILN_NO_GPU disables the driver unless it is empty or 0") {
  {
    ScopedEnv off("KILN_NO_GPU", "1");
    const CudaDriver d(CudaDriver::kLibraryName);
    CHECK_FALSE(d.available());
    CHECK(d.unavailable_reason() == "disabled by KILN_NO_GPU");
  }
  for (const char* v : {"0", ""}) {
    ScopedEnv on("KILN_NO_GPU", std::string(v));
    const CudaDriver d(kMissing);
    CHECK(d.unavailable_reason().rfind(std::string(kMissing) + " not found", 0) == 0);
  }
}

TEST_CASE("the process driver is unavailable and every device object says why") {
  REQUIRE(kNoGpuForProcess);
  const CudaDriver& d = CudaDriver::get();
  REQUIRE(&d == &CudaDriver::get());
  CHECK_FALSE(d.available());
  CHECK(d.unavailable_reason() == "disabled by KILN_NO_GPU");
  const std::string no_gpu = "[cuda] no GPU: disabled by KILN_NO_GPU (needed by ";
  CHECK(message_of<kiln::DeviceError>([] { DeviceBuffer b(1024); }) ==
        no_gpu + "DeviceBuffer(1024 bytes))");
  CHECK(message_of<kiln::DeviceError>([] { Stream s; }) == no_gpu + "Stream)");
  CHECK(message_of<kiln::DeviceError>([] { Event e; }) == no_gpu + "Event)");
  CHECK(message_of<kiln::DeviceError>([] { CudaModule m("ptx"); }) == no_gpu + "CudaModule)");
  CHECK(message_of<kiln::DeviceError>([] { PrimaryContext c(0); }) == no_gpu + "PrimaryContext)");
  CHECK(message_of<kiln::DeviceError>([] { CudaDriver::get().info(0); }) ==
        no_gpu + "CudaDriver::info)");
}

TEST_CASE("the real driver on this machine reports its state without throwing") {
  ScopedEnv gpu_allowed("KILN_NO_GPU", std::nullopt);
  const CudaDriver d(CudaDriver::kLibraryName);
  if (d.available()) {
    CHECK(d.unavailable_reason().empty());
    CHECK(d.device_count() > 0);
    CHECK(has(d.resolved_symbols(), "cuMemAlloc_v2"));
    CHECK(d.info(0).cc_major >= 3);
  } else {
    const std::string& r = d.unavailable_reason();
    INFO(r);
    CHECK(d.device_count() == 0);
    CHECK((r.rfind("libcuda.so.1 not found (no NVIDIA driver): ", 0) == 0 ||
           r.rfind("cuInit failed: CUDA_ERROR_", 0) == 0 || r == "no CUDA device" ||
           r.rfind("libcuda.so.1 lacks ", 0) == 0));
  }
}

#ifdef KILN_CUDA_STUB_LIBRARY
TEST_CASE("the toolkit's stub libcuda resolves every entry point and fails at cuInit") {
  ScopedEnv gpu_allowed("KILN_NO_GPU", std::nullopt);
  REQUIRE(std::filesystem::exists(KILN_CUDA_STUB_LIBRARY));
  const CudaDriver d(KILN_CUDA_STUB_LIBRARY);
  CHECK_FALSE(d.available());
  CHECK(d.unavailable_reason() == "cuInit failed: CUDA_ERROR_STUB_LIBRARY (34)");
  // dlsym found the versioned names that cuda.h's macros hide.
  for (const char* sym :
       {"cuInit", "cuMemAlloc_v2", "cuMemFree_v2", "cuMemcpyHtoD_v2", "cuMemcpyDtoH_v2",
        "cuMemcpyHtoDAsync_v2", "cuStreamDestroy_v2", "cuDevicePrimaryCtxRelease_v2",
        "cuLaunchKernel", "cuEventDestroy_v2", "cuEventElapsedTime_v2", "cuStreamBeginCapture_v2",
        "cuGraphInstantiateWithFlags", "cuGraphLaunch", "cuFuncSetAttribute"})
    CHECK(has(d.resolved_symbols(), sym));
  CHECK(d.missing_symbols().empty());
  CHECK_FALSE(d.supports(DriverFeature::Events)); // nothing is usable without cuInit
}
#endif

TEST_CASE("check() names the failed call and the driver error") {
  const CudaDriver d(kMissing); // no driver functions: kiln's own table names the error
  CHECK_NOTHROW(d.check(CUDA_SUCCESS, "cuInit"));
  CHECK(message_of<kiln::DeviceError>([&] {
          d.check(CUDA_ERROR_OUT_OF_MEMORY, "cuMemAlloc(64 bytes)");
        }) == "[cuda] cuMemAlloc(64 bytes) failed: CUDA_ERROR_OUT_OF_MEMORY: out of memory");
  CHECK(d.error_name(CUDA_ERROR_NO_DEVICE) == "CUDA_ERROR_NO_DEVICE");
  CHECK(d.error_name(static_cast<CUresult>(12345)) == "CUDA error 12345");
  CHECK(d.error_string(static_cast<CUresult>(12345)) == "unknown error");
}

TEST_CASE("launch checks its shape before it needs the driver") {
  // Never called: each launch below is refused before the function pointer is used.
  const auto fake = reinterpret_cast<CUfunction>(std::uintptr_t{0x1000});
  CHECK(message_of<kiln::DeviceError>([] { launch(nullptr, {1}, {32}, 0, CUstream{}, nullptr); }) ==
        "[cuda] launch: no kernel (the CUfunction is null)");
  CHECK(message_of<kiln::ShapeError>([&] {
          launch(fake, {0, 1, 1}, {32}, 0, CUstream{}, nullptr);
        }) == "[cuda] launch: grid (0, 1, 1) has a zero extent");
  CHECK(message_of<kiln::ShapeError>([&] {
          launch(fake, {4}, {32, 0, 1}, 0, CUstream{}, nullptr);
        }) == "[cuda] launch: block (32, 0, 1) has a zero extent");
  CHECK(message_of<kiln::ShapeError>([&] {
          launch(fake, {4}, {64, 32, 1}, 0, CUstream{}, nullptr);
        }) == "[cuda] launch: block (64, 32, 1) has 2048 threads; a block holds at most 1024");
  CHECK(message_of<kiln::DeviceError>([&] { launch(fake, {4}, {256}, 0, CUstream{}, nullptr); }) ==
        "[cuda] no GPU: disabled by KILN_NO_GPU (needed by launch)");
}

TEST_CASE("an empty DeviceBuffer needs no driver and refuses copies that do not fit") {
  DeviceBuffer b;
  CHECK(b.size() == 0);
  CHECK(b.get() == 0);
  std::vector<float> host(4, 1.0f);
  CHECK_NOTHROW(b.upload(std::vector<float>{}));
  CHECK(message_of<kiln::ShapeError>([&] { b.upload(host); }) ==
        "[cuda] DeviceBuffer::upload: 16 bytes at offset 0 do not fit in a buffer of 0 bytes");
  CHECK(message_of<kiln::ShapeError>([&] { b.download(host, 8); }) ==
        "[cuda] DeviceBuffer::download: 16 bytes at offset 8 do not fit in a buffer of 0 bytes");
  DeviceBuffer moved = std::move(b);
  CHECK(moved.size() == 0);
}
