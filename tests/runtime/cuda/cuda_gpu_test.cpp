// Runs the representative kernels on a real GPU and checks them against a CPU reference. Without
// a GPU every case is skipped (tests/support/skip.h): ctest reports it as not run, with the
// driver's reason.

#include "runtime/cuda/cuda_device.h"
#include "runtime/cuda/cuda_driver.h"
#include "runtime/cuda/cuda_graph.h"
#include "runtime/cuda/nvrtc.h"

#include "cuda_test_util.h"
#include "tests/support/skip.h"

#include "base/error.h"
#include "base/rng.h"

#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <vector>

using namespace kiln::runtime;
using kiln::test::blank;
using kiln::test::kFusedKernels;

#define KILN_REQUIRE_GPU()                                                                         \
  do {                                                                                             \
    if (!CudaDriver::get().available())                                                            \
      KILN_SKIP("no GPU: " << CudaDriver::get().unavailable_reason());                             \
  } while (0)

namespace {

constexpr unsigned kBlock = 256;

std::vector<float> random_floats(size_t n, uint64_t seed) {
  kiln::Rng rng(seed);
  std::vector<float> v(n);
  for (float& x : v)
    x = static_cast<float>(rng.uniform(-3.0, 3.0));
  return v;
}

// The module for device 0, as CUBIN (pick_sm) or as PTX that the driver JIT-compiles.
CudaModule load_fused(bool cubin) {
  const DeviceInfo dev = CudaDriver::get().info(0);
  NvrtcOptions o = nvrtc_options_for(dev, cubin ? "fused_gpu_cubin" : "fused_gpu_ptx");
  o.use_cache = false;
  if (!cubin)
    o.cubin = false;
  const NvrtcResult r = nvrtc_compile(kFusedKernels, o);
  CHECK(blank(r.log));
  return CudaModule(r.binary);
}

unsigned grid_for(size_t n) {
  // Fewer blocks than elements need, so the grid-stride loops really stride.
  const unsigned sms = static_cast<unsigned>(CudaDriver::get().info(0).sm_count);
  return std::min<unsigned>(2 * sms, static_cast<unsigned>((n + kBlock - 1) / kBlock));
}

// Looks nothing up, so it can run under stream capture.
void run_tanh_affine(CUfunction fn, unsigned grid, const Stream& s, DeviceBuffer& x,
                     DeviceBuffer& y, float a, float b, int n) {
  void* args[] = {x.arg(), y.arg(), &a, &b, &n};
  launch(fn, {grid}, {kBlock}, 0, s, args);
}

void check_tanh_affine(const std::vector<float>& x, const std::vector<float>& y, float a, float b) {
  REQUIRE(x.size() == y.size());
  double worst = 0.0;
  for (size_t i = 0; i < x.size(); ++i)
    worst = std::max(worst, std::abs(double(y[i]) - std::tanh(double(a) * x[i] + b)));
  CHECK(worst < 1e-6);
}

} // namespace

TEST_CASE("device 0 reports sane properties") {
  KILN_REQUIRE_GPU();
  const CudaDriver& d = CudaDriver::get();
  const DeviceInfo dev = d.info(0);
  CHECK_FALSE(dev.name.empty());
  CHECK(dev.compute_capability() >= 75);
  CHECK(dev.sm_count > 0);
  CHECK(dev.max_threads_per_block >= 1024);
  CHECK(dev.warp_size == 32);
  CHECK(dev.shared_per_block_optin >= dev.shared_per_block);
  CHECK(dev.total_memory > 0);
  CHECK(d.driver_version() > 0);
  CHECK(d.supports(DriverFeature::AsyncCopy));
  CHECK_THROWS_WITH(d.info(d.device_count()),
                    "[cuda] device " + std::to_string(d.device_count()) + " does not exist: " +
                        std::to_string(d.device_count()) + " CUDA device(s) found");
  WARN(dev.name << ": sm_" << dev.compute_capability() << ", " << dev.sm_count << " SMs, driver "
                << d.driver_version() << ", compiling for sm_" << pick_sm(dev));
}

TEST_CASE("the fused elementwise kernel matches the CPU reference (CUBIN and PTX)") {
  KILN_REQUIRE_GPU();
  const int n = 100003; // not a multiple of the block
  const float a = 0.7f, b = -0.2f;
  const std::vector<float> x = random_floats(n, 1);
  for (bool cubin : {true, false}) {
    INFO((cubin ? "CUBIN" : "PTX"));
    const CudaModule m = load_fused(cubin);
    Stream s;
    DeviceBuffer dx(n * sizeof(float)), dy(n * sizeof(float));
    dx.upload(x);
    run_tanh_affine(m.function("fused_tanh_affine"), grid_for(n), s, dx, dy, a, b, n);
    s.synchronize();
    std::vector<float> y(n);
    dy.download(y);
    check_tanh_affine(x, y, a, b);
  }
}

TEST_CASE("the shared-memory reduction matches the CPU sum") {
  KILN_REQUIRE_GPU();
  const int n = (1 << 20) + 17;
  const std::vector<float> x = random_floats(n, 2);
  const CudaModule m = load_fused(true);
  Stream s;
  const unsigned grid = grid_for(n);
  DeviceBuffer dx(n * sizeof(float)), dpartial(grid * sizeof(float));
  dx.upload_bytes_async(x.data(), x.size() * sizeof(float), s);
  int count = n;
  void* args[] = {dx.arg(), dpartial.arg(), &count};
  launch(m.function("block_sum"), {grid}, {kBlock}, kBlock * sizeof(float), s, args);
  std::vector<float> partial(grid);
  dpartial.download_bytes_async(partial.data(), partial.size() * sizeof(float), s);
  s.synchronize();
  double gpu = 0.0, cpu = 0.0;
  for (float p : partial)
    gpu += p;
  for (float v : x)
    cpu += v;
  const double abs_sum = 3.0 * n; // |x| <= 3: bounds the float rounding of the partial sums
  CHECK(std::abs(gpu - cpu) < 1e-6 * abs_sum);
}

TEST_CASE("a captured graph replays the launch and events time it") {
  KILN_REQUIRE_GPU();
  const CudaDriver& d = CudaDriver::get();
  if (!d.supports(DriverFeature::Graphs) || !d.supports(DriverFeature::Events)) {
    KILN_SKIP("driver lacks graphs or events: " << d.missing_symbols().size()
                                                << " symbols missing");
  }
  const int n = 4096;
  const std::vector<float> x = random_floats(n, 3);
  const CudaModule m = load_fused(true);
  Stream s;
  DeviceBuffer dx(n * sizeof(float)), dy(n * sizeof(float));
  dx.upload(x);
  const CUfunction fn = m.function("fused_tanh_affine");
  const unsigned grid = grid_for(n);
  const CudaGraph g =
      CudaGraph::capture(s, [&] { run_tanh_affine(fn, grid, s, dx, dy, 1.5f, 0.25f, n); });
  std::vector<float> y(n, 42.0f);
  dy.upload(y); // the capture must not have run the kernel; the replay must
  Event start, stop;
  start.record(s);
  g.launch(s);
  g.launch(s);
  stop.record(s);
  stop.synchronize();
  CHECK(Event::elapsed_ms(start, stop) >= 0.0f);
  dy.download(y);
  check_tanh_affine(x, y, 1.5f, 0.25f);
}

TEST_CASE("driver failures name the call that failed") {
  KILN_REQUIRE_GPU();
  const CudaModule m = load_fused(true);
  CHECK_THROWS_WITH(m.function("no_such_kernel"),
                    Catch::StartsWith("[cuda] cuModuleGetFunction(\"no_such_kernel\") failed: "
                                      "CUDA_ERROR_NOT_FOUND"));
  CHECK_THROWS_WITH(
      CudaModule(std::string("not ptx at all")),
      Catch::StartsWith("[cuda] cuModuleLoadData(PTX, 14 bytes) failed: CUDA_ERROR_"));
  CHECK_THROWS_WITH(CudaModule(std::string()),
                    "[cuda] CudaModule: the image is empty (expected CUBIN or PTX)");
  DeviceBuffer small(16);
  CHECK_THROWS_AS(small.upload(std::vector<float>(5)), kiln::ShapeError);
  CHECK_THROWS_WITH(
      launch(m.function("fused_tanh_affine"), {1}, {2048}, 0, Stream(), nullptr),
      "[cuda] launch: block (2048, 1, 1) has 2048 threads; a block holds at most 1024");
}
