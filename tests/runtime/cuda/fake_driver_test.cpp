// The device layer against kiln_fake_cuda (fake_libcuda.h): this executable also holds the
// cases of cuda_gpu_test.cpp, which therefore run end to end here even without a GPU.

#include "runtime/cuda/cuda_device.h"
#include "runtime/cuda/cuda_driver.h"
#include "runtime/cuda/cuda_graph.h"
#include "runtime/cuda/nvrtc.h"

#include "cuda_test_util.h"
#include "fake_libcuda.h"

#include "base/error.h"

#include <catch2/catch.hpp>

#include <dlfcn.h>

#include <cstdlib>
#include <thread>
#include <vector>

using namespace kiln::runtime;
using kiln::test::kFusedKernels;

namespace {

// Before main, so before the first CudaDriver::get(): the fake is this process's driver.
const bool kUseFake =
    (setenv("KILN_CUDA_DRIVER", KILN_FAKE_CUDA_PATH, 1), unsetenv("KILN_NO_GPU"), true);

const KilnFakeCudaState& fake() {
  static KilnFakeCudaState* state = [] {
    REQUIRE(CudaDriver::get().available()); // loads the fake
    void* h = dlopen(KILN_FAKE_CUDA_PATH, RTLD_NOW | RTLD_NOLOAD);
    REQUIRE(h != nullptr);
    auto fn = reinterpret_cast<KilnFakeCudaState* (*)()>(dlsym(h, "kiln_fake_cuda_state"));
    REQUIRE(fn != nullptr);
    return fn();
  }();
  return *state;
}

const std::string& ptx() {
  static const std::string p = [] {
    NvrtcOptions o;
    o.name = "fused_fake";
    o.cubin = false;
    o.use_cache = false;
    return nvrtc_compile(kFusedKernels, o).binary;
  }();
  return p;
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

TEST_CASE("KILN_CUDA_DRIVER makes the fake the process driver with every feature") {
  REQUIRE(kUseFake);
  const CudaDriver& d = CudaDriver::get();
  REQUIRE(d.available());
  CHECK(d.unavailable_reason().empty());
  CHECK(d.missing_symbols().empty());
  for (DriverFeature f : {DriverFeature::AsyncCopy, DriverFeature::Events,
                          DriverFeature::FuncAttributes, DriverFeature::Graphs})
    CHECK(d.supports(f));
  CHECK(d.driver_version() == 13000);
  const DeviceInfo info = d.info(0);
  CHECK(info.name == "Kiln Fake GPU");
  CHECK(info.compute_capability() == 90);
  CHECK(info.shared_per_block_optin == 227 * 1024);
  CHECK(info.total_memory == size_t(1) << 34);
}

TEST_CASE("device objects give back every handle they take") {
  {
    DeviceBuffer a(1024), empty(0);
    Stream s;
    Event e;
    CudaModule m(ptx());
    const CUfunction fn = m.function("fused_tanh_affine");
    float alpha = 1.0f, beta = 0.0f;
    int n = 256;
    void* args[] = {a.arg(), a.arg(), &alpha, &beta, &n};
    CudaGraph g = CudaGraph::capture(s, [&] { launch(fn, {1}, {256}, 0, s, args); });
    g.launch(s);
    CHECK(fake().live_allocations == 1); // a 0-byte buffer owns no memory
    CHECK(fake().live_streams == 1);
    CHECK(fake().live_events == 1);
    CHECK(fake().live_modules == 1);
    CHECK(fake().live_graphs == 1); // the template graph is gone once instantiated
    CHECK(fake().context_refs >= 6);
  }
  CHECK(fake().live_allocations == 0);
  CHECK(fake().live_streams == 0);
  CHECK(fake().live_events == 0);
  CHECK(fake().live_modules == 0);
  CHECK(fake().live_graphs == 0);
  CHECK(fake().context_refs == 1); // the process keeps one retain per used device
}

TEST_CASE("moving a DeviceBuffer moves the allocation, assigning frees the old one") {
  const int before = fake().live_allocations;
  DeviceBuffer a(64);
  DeviceBuffer b = std::move(a);
  CHECK(a.size() == 0);
  CHECK(a.get() == 0);
  CHECK(b.size() == 64);
  CHECK(fake().live_allocations == before + 1);
  b = DeviceBuffer(32);
  CHECK(b.size() == 32);
  CHECK(fake().live_allocations == before + 1);
}

TEST_CASE("copies honour offsets and refuse ranges outside the buffer") {
  DeviceBuffer b(16);
  b.upload(std::vector<float>{1, 2, 3, 4});
  b.upload(std::vector<float>{7, 8}, 8);
  std::vector<float> all(4);
  b.download(all);
  CHECK(all == std::vector<float>{1, 2, 7, 8});
  std::vector<float> tail(1);
  b.download(tail, 4);
  CHECK(tail[0] == 2);
  CHECK(message_of<kiln::ShapeError>([&] { b.upload(std::vector<float>(5)); }) ==
        "[cuda] DeviceBuffer::upload: 20 bytes at offset 0 do not fit in a buffer of 16 bytes");
  CHECK(message_of<kiln::ShapeError>([&] { b.download(all, 8); }) ==
        "[cuda] DeviceBuffer::download: 16 bytes at offset 8 do not fit in a buffer of 16 bytes");
  CHECK(message_of<kiln::ShapeError>([&] { b.download(tail, 17); }) ==
        "[cuda] DeviceBuffer::download: 4 bytes at offset 17 do not fit in a buffer of 16 bytes");
}

TEST_CASE("dynamic shared memory above 48 KiB is opted into, below it is not") {
  CudaModule m(ptx());
  Stream s;
  DeviceBuffer x(4096 * sizeof(float)), partial(sizeof(float));
  x.upload(std::vector<float>(4096, 0.5f));
  int n = 4096;
  void* args[] = {x.arg(), partial.arg(), &n};
  const CUfunction fn = m.function("block_sum");
  const int calls = fake().func_attribute_calls;
  launch(fn, {1}, {256}, 256 * sizeof(float), s, args);
  CHECK(fake().func_attribute_calls == calls);
  launch(fn, {1}, {256}, 64 * 1024, s, args);
  CHECK(fake().func_attribute_calls == calls + 1);
  CHECK(fake().last_dynamic_shared == 64 * 1024);
  std::vector<float> sum(1);
  partial.download(sum);
  CHECK(sum[0] == 2048.0f);
}

TEST_CASE("ContextGuard restores the thread's previous context") {
  const PrimaryContext ctx(0);
  const CudaApi& api = CudaDriver::get().require("test");
  CUcontext before = reinterpret_cast<CUcontext>(1), inside = nullptr,
            after = reinterpret_cast<CUcontext>(1);
  std::thread([&] { // a new thread starts with no current context
    api.ctx_get_current(&before);
    {
      ContextGuard guard(ctx);
      api.ctx_get_current(&inside);
    }
    api.ctx_get_current(&after);
  })
      .join();
  CHECK(before == nullptr);
  CHECK(inside == ctx.get());
  CHECK(after == nullptr);
}

TEST_CASE("objects made on one thread are freed from another") {
  const int before = fake().live_allocations;
  auto b = std::make_unique<DeviceBuffer>(128);
  std::thread([&] { b.reset(); }).join(); // that thread never made the context current
  CHECK(fake().live_allocations == before);
}

TEST_CASE("driver errors name the device, the call and the error") {
  const CudaDriver& d = CudaDriver::get();
  CHECK(message_of<kiln::DeviceError>([&] { d.info(1); }) ==
        "[cuda] device 1 does not exist: 1 CUDA device(s) found");
  CHECK(message_of<kiln::DeviceError>([] { DeviceBuffer b(8, 2); }) ==
        "[cuda] device 2 does not exist: 1 CUDA device(s) found");
  CudaModule m(std::string(".version 9.0\n.entry mystery_kernel()\n"));
  Stream s;
  CHECK(message_of<kiln::DeviceError>([&] {
          launch(m.function("mystery_kernel"), {1}, {32}, 0, s, nullptr);
        }) == "[cuda] cuLaunchKernel(grid (1, 1, 1), block (32, 1, 1), 0 shared bytes) failed: "
              "CUDA_ERROR_NOT_SUPPORTED: operation not supported");
}
