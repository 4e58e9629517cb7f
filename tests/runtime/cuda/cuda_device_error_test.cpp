// Asking for a CUDA device where there is none: compile() and fit() throw kiln::DeviceError with
// the driver's reason, and nothing crashes. The process's driver is a library that does not
// exist, so this holds on GPU machines too.

#include <catch2/catch.hpp>

#include <cstdlib>

#include "base/error.h"
#include "io/data.h"
#include "runtime/executable.h"
#include "tests/codegen/cuda/cuda_graphs.h"
#include "trainer/trainer.h"

using namespace kiln;
using Catch::Matchers::Contains;
using Catch::Matchers::EndsWith;
using Catch::Matchers::StartsWith;

namespace {

// Before main, so before the first use of the driver.
const bool kNoDriver =
    (setenv("KILN_CUDA_DRIVER", "libkiln_no_such_driver.so.1", 1), unsetenv("KILN_NO_GPU"), true);

constexpr const char* kReason =
    "[cuda] no GPU: libkiln_no_such_driver.so.1 not found (no NVIDIA driver): ";

} // namespace

TEST_CASE(
    "compiling for a CUDA device without a driver throws DeviceError with the driver's reason") {
  REQUIRE(kNoDriver);
  const test::CourseNet n = test::course_nets(ir::DType::F32)[0];
  CHECK_THROWS_AS(Executable::compile(n.lowered.graph, {.device = Device::cuda(0)}), DeviceError);
  CHECK_THROWS_WITH(Executable::compile(n.lowered.graph, {.device = Device::cuda(0)}),
                    StartsWith(kReason) && Contains("cannot open shared object file") &&
                        EndsWith("(needed by Executable::compile)"));
  // The CPU is unaffected.
  Executable cpu = Executable::compile(n.lowered.graph);
  CHECK(cpu.device() == Device::cpu());
  CHECK(cpu.device().str() == "cpu");
  CHECK(Device::cuda(2).str() == "cuda:2");
}

TEST_CASE("fit on a CUDA device without a driver throws DeviceError") {
  REQUIRE(kNoDriver);
  const data::Dataset d = data::regression_1d([](double x) { return x; }, -1, 1, 20, 0.0, 1);
  Trainer t(nn::Sequential{nn::Linear(1, 4), nn::Tanh(), nn::Linear(4, 1)}, Loss::mse(),
            std::make_shared<optim::SGD>(0.1));
  CHECK_THROWS_WITH(t.fit(d, nullptr, {.epochs = 1, .progress = false, .device = Device::cuda(0)}),
                    StartsWith(kReason) && EndsWith("(needed by Executable::compile)"));
}

TEST_CASE(
    "CUDA-only accessors of a CPU executable and a change of device between fits are errors") {
  const test::CourseNet n = test::course_nets(ir::DType::F32)[0];
  Executable cpu = Executable::compile(n.lowered.graph);
  CHECK_THROWS_WITH(cpu.cuda_kernel(),
                    "[Executable] cuda_kernel(): compiled for cpu, not a CUDA device");
  CHECK_THROWS_WITH(cpu.cuda_plan(5),
                    "[Executable] cuda_plan(): compiled for cpu, not a CUDA device");
  const data::Dataset d = data::regression_1d([](double x) { return x; }, -1, 1, 20, 0.0, 1);
  Trainer t(nn::Sequential{nn::Linear(1, 4), nn::Tanh(), nn::Linear(4, 1)}, Loss::mse(),
            std::make_shared<optim::SGD>(0.1));
  t.fit(d, nullptr, {.epochs = 1, .progress = false});
  CHECK_THROWS_WITH(
      t.fit(d, nullptr, {.epochs = 1, .progress = false, .device = Device::cuda(0)}),
      "[fit] the network was compiled for cpu by the first fit(); this fit asks for cuda:0");
}
