// cuda_executable_fake_test: cuda_executable_test.cpp on the fake driver (fake_libcuda.h), with
// kiln's generated kernels run by the CPU emulator (cuda_emulator.h): NVRTC dumps every source
// it compiles, and the fake asks the emulator for each kernel at its first launch. Plus what
// only the fake can observe: launches, graph replays and handles given back.

#include <catch2/catch.hpp>

#include <dlfcn.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <string>

#include "base/error.h"
#include "cuda_emulator.h"
#include "fake_libcuda.h"
#include "runtime/cuda/cuda_driver.h"
#include "runtime/cuda/cuda_program.h"
#include "runtime/executable.h"
#include "tests/codegen/cuda/cuda_graphs.h"

using namespace kiln;

namespace {

const std::filesystem::path& dump_dir() {
  static const std::filesystem::path d = std::filesystem::temp_directory_path() /
                                         ("kiln-cuda-emulation-" + std::to_string(::getpid()));
  return d;
}

// Before main, so before the first CudaDriver::get(): the fake is this process's driver, and
// every NVRTC source lands where the emulator finds it.
const bool kUseFake = (setenv("KILN_CUDA_DRIVER", KILN_FAKE_CUDA_PATH, 1), unsetenv("KILN_NO_GPU"),
                       std::filesystem::create_directories(dump_dir()),
                       setenv("KILN_DUMP_DIR", dump_dir().c_str(), 1), true);

struct RemoveDumps {
  ~RemoveDumps() {
    std::error_code ec;
    std::filesystem::remove_all(dump_dir(), ec);
  }
} remove_dumps;

void* fake_library() {
  static void* h = [] {
    if (!runtime::CudaDriver::get().available())
      return static_cast<void*>(nullptr); // loads the fake
    void* lib = dlopen(KILN_FAKE_CUDA_PATH, RTLD_NOW | RTLD_NOLOAD);
    if (lib)
      kiln::test::emulate_dumped_sources(lib, dump_dir().string());
    return lib;
  }();
  return h;
}

KilnFakeCudaState& fake() {
  auto fn =
      reinterpret_cast<KilnFakeCudaState* (*)()>(dlsym(fake_library(), "kiln_fake_cuda_state"));
  REQUIRE(fn != nullptr);
  return *fn();
}

} // namespace

namespace kiln::test {

bool device_ready(std::string& why) {
  REQUIRE(kUseFake);
  why = runtime::CudaDriver::get().unavailable_reason();
  return fake_library() != nullptr;
}

} // namespace kiln::test

TEST_CASE("a step is one graph launch per batch size, replayed on later calls") {
  REQUIRE(fake_library() != nullptr);
  const StepGraph sg = kiln::test::adam_step(kiln::test::relu_mlp(4, 8, 2, 2));
  Executable exe = Executable::compile(sg.graph, {.updates = sg.updates,
                                                  .device = Device::cuda(0),
                                                  .cuda_plans = codegen::CudaPlanChoice::PerGroup});
  const codegen::CudaPlan& plan = exe.cuda_plan(3);
  REQUIRE(plan.kind == codegen::CudaPlan::Kind::PerGroup);
  const MatrixRM y = MatrixRM::Constant(3, 4, 0.5f), c = MatrixRM::Constant(3, 2, 0.25f),
                 lr = MatrixRM::Constant(1, 1, 0.1f);
  const int graphs = fake().live_graphs;
  int launches = fake().launches;
  exe.run({{"y", y}, {"c", c}, {"lr", lr}});
  CHECK(fake().live_graphs == graphs + 1); // captured once for N = 3
  CHECK(fake().launches == launches + static_cast<int>(plan.launches.size()));
  launches = fake().launches;
  exe.run({{"y", y}, {"c", c}, {"lr", lr}});
  CHECK(fake().live_graphs == graphs + 1); // replayed
  CHECK(fake().launches == launches + static_cast<int>(plan.launches.size()));
}

TEST_CASE("a device executable gives back every buffer, module and stream it took") {
  REQUIRE(fake_library() != nullptr);
  const int allocations = fake().live_allocations, modules = fake().live_modules,
            streams = fake().live_streams;
  {
    const kiln::test::CourseNet n = kiln::test::course_nets(ir::DType::F32)[0];
    Executable exe = Executable::compile(n.lowered.graph, {.device = Device::cuda(0)});
    exe.set_params(init_parameters(n.lowered.params, 1, ir::DType::F64));
    const MatrixRM y = MatrixRM::Constant(4, 1, 0.5f);
    exe.run({{"y", y}, {"c", y}});
    CHECK(fake().live_allocations > allocations);
    CHECK(fake().live_modules > modules);
  }
  CHECK(fake().live_allocations == allocations);
  CHECK(fake().live_modules == modules);
  CHECK(fake().live_streams == streams);
}

TEST_CASE("a program moved onto another's stream runs there and frees the stream once") {
  // The data-parallel step queues the gradient kernel, NCCL and the update kernel on one stream.
  REQUIRE(fake_library() != nullptr);
  const kiln::test::CourseNet n = kiln::test::course_nets(ir::DType::F32)[0];
  const int streams = fake().live_streams;
  {
    Executable a = Executable::compile(n.lowered.graph, {.device = Device::cuda(0)});
    Executable b = Executable::compile(n.lowered.graph, {.device = Device::cuda(0)});
    auto& pa = dynamic_cast<runtime::CudaProgram&>(a.program());
    auto& pb = dynamic_cast<runtime::CudaProgram&>(b.program());
    CHECK(pa.stream_handle() != pb.stream_handle());
    CHECK(fake().live_streams == streams + 2);
    pb.share_stream(pa);
    CHECK(pb.stream_handle() == pa.stream_handle());
    CHECK(fake().live_streams == streams + 1); // b's own stream is gone
    const ir::Bindings init = init_parameters(n.lowered.params, 3, ir::DType::F64);
    a.set_params(init);
    b.set_params(init);
    MatrixRM y(6, 1);
    y << -1.0f, -0.6f, -0.2f, 0.2f, 0.6f, 1.0f;
    CHECK(b.run({{"y", y}, {"c", y}}).at("loss")(0, 0) ==
          a.run({{"y", y}, {"c", y}}).at("loss")(0, 0));
  }
  CHECK(fake().live_streams == streams);
}

TEST_CASE("params live on the device: set, read back and shared between executables") {
  REQUIRE(fake_library() != nullptr);
  const kiln::test::CourseNet n = kiln::test::course_nets(ir::DType::F32)[0];
  Executable a = Executable::compile(n.lowered.graph, {.device = Device::cuda(0)});
  Executable b = Executable::compile(n.lowered.graph, {.device = Device::cuda(0)});
  a.set_params(init_parameters(n.lowered.params, 4, ir::DType::F64));
  MatrixRM w = a.param("0.weight");
  CHECK(w.cwiseAbs().maxCoeff() > 0);
  w(3, 0) = 42.0f;
  a.set_param("0.weight", w);
  CHECK(a.param("0.weight")(3, 0) == 42.0f);
  CHECK(b.param("0.weight").cwiseAbs().maxCoeff() == 0); // params start at zero
  b.bind_param("0.weight", a.param_data("0.weight"));
  CHECK(b.param("0.weight")(3, 0) == 42.0f);
  CHECK(b.device() == Device::cuda(0));
}

TEST_CASE("a device that does not exist is a DeviceError naming it") {
  REQUIRE(fake_library() != nullptr);
  const kiln::test::CourseNet n = kiln::test::course_nets(ir::DType::F32)[0];
  CHECK_THROWS_AS(Executable::compile(n.lowered.graph, {.device = Device::cuda(1)}), DeviceError);
  CHECK_THROWS_WITH(Executable::compile(n.lowered.graph, {.device = Device::cuda(1)}),
                    "[cuda] device 1 does not exist: 1 CUDA device(s) found");
}

TEST_CASE("a batch too large for 32-bit indices is a ShapeError") {
  REQUIRE(fake_library() != nullptr);
  const kiln::test::CourseNet n = kiln::test::course_nets(ir::DType::F32)[0];
  Executable exe = Executable::compile(n.lowered.graph, {.device = Device::cuda(0)});
  std::vector<void*> slots(exe.schedule().slots.size(), nullptr);
  CHECK_THROWS_AS(exe.call(int64_t{1} << 31, slots.data()), ShapeError);
  CHECK_THROWS_WITH(exe.call(int64_t{1} << 31, slots.data()),
                    "[cuda] batch size 2147483648 is out of range: 'y' (f32[N,1]) would hold "
                    "2147483648 elements; CUDA kernels index buffers with 32 bits");
  CHECK_THROWS_WITH(exe.call(0, slots.data()),
                    "[cuda] batch size 0 is out of range: a step needs at least one sample");
}

TEST_CASE("TF32 tensor cores on a GPU older than sm_80 are a DeviceError naming its capability") {
  REQUIRE(fake_library() != nullptr);
  const StepGraph sg = kiln::test::adam_step(kiln::test::relu_mlp(20, 40, 3, 24));
  fake().cc_major = 7; // sm_75, a Turing GPU
  fake().cc_minor = 5;
  auto compile = [&] {
    return Executable::compile(sg.graph,
                               {.updates = sg.updates, .device = Device::cuda(0), .tf32 = true});
  };
  CHECK_THROWS_AS(compile(), DeviceError);
  CHECK_THROWS_WITH(compile(), "[cuda] tf32 tensor cores need compute capability 8.0 or newer; "
                               "device 0 (Kiln Fake GPU) is 7.5 (needed by Executable::compile)");
  // The same step without tf32 compiles there.
  CHECK_NOTHROW(Executable::compile(sg.graph, {.updates = sg.updates, .device = Device::cuda(0)}));
  fake().cc_major = fake().cc_minor = 0;
}
