// The emitted .cu: it compiles with nvcc (kernels and host code) and with NVRTC (the kernels).
// Nothing here needs a GPU; running the CUDA entry points does, and this machine has none.

#include <catch2/catch.hpp>

#include <fstream>
#include <sstream>

#include "aot/aot.h"
#include "io/safetensors.h"
#include "runtime/cuda/nvrtc.h"
#include "support.h"

using namespace kiln;
using aot_test::run_command;
using aot_test::shell_quote;
namespace fs = std::filesystem;

namespace {

std::string slurp(const fs::path& p) {
  std::ifstream f(p);
  std::ostringstream s;
  s << f.rdbuf();
  return s.str();
}

/** A regression network with baked weights and a classifier with weights passed in. */
std::vector<aot::AotFiles> emit_cuda_models(const fs::path& dir) {
  std::map<std::string, HostTensor> weights;
  std::vector<float> w0(8 * 3, 0.25f), b0(8, -0.5f), w1(2 * 8, 0.125f), b1(2, 1.0f);
  weights["0.weight"] = HostTensor::of<float>({8, 3}, std::span<const float>(w0));
  weights["0.bias"] = HostTensor::of<float>({8}, std::span<const float>(b0));
  weights["2.weight"] = HostTensor::of<float>({2, 8}, std::span<const float>(w1));
  weights["2.bias"] = HostTensor::of<float>({2}, std::span<const float>(b1));
  save_safetensors((dir / "w.safetensors").string(), weights);

  aot::AotSpec reg;
  reg.name = "creg";
  reg.out_dir = dir.string();
  reg.net = nn::Sequential{nn::Linear(3, 8), nn::Tanh(), nn::Linear(8, 2)};
  reg.in_features = 3;
  reg.out_features = 2;
  reg.optimizer = std::make_shared<optim::Adam>(1e-3);
  reg.checkpoint = (dir / "w.safetensors").string();
  reg.cuda = true;

  aot::AotSpec cls;
  cls.name = "ccls";
  cls.out_dir = dir.string();
  cls.net = nn::Sequential{nn::Linear(3, 16), nn::ReLU(), nn::Linear(16, 4)};
  cls.in_features = 3;
  cls.out_features = 4;
  cls.loss = Loss::cross_entropy();
  cls.optimizer = std::make_shared<optim::SGD>(0.1);
  cls.cuda = true;
  return {aot::emit(reg), aot::emit(cls)};
}

} // namespace

TEST_CASE("the emitted .cu compiles with nvcc -c and with NVRTC") {
  const aot_test::TempDir tmp("aot-cuda");
  const fs::path& dir = tmp.path();
  const std::vector<aot::AotFiles> files = emit_cuda_models(dir);
  std::string cmd = shell_quote(KILN_AOT_NVCC) + " -std=c++17 -c -I" + shell_quote(dir.string()) +
                    " -odir " + shell_quote(dir.string());
  for (const aot::AotFiles& f : files) {
    REQUIRE(f.cuda == fs::path(f.source).replace_extension(".cu").string());
    REQUIRE(fs::exists(f.cuda));
    cmd += " " + shell_quote(f.cuda);
  }
  const auto r = run_command(cmd);
  INFO(cmd << "\n" << r.output);
  REQUIRE(r.status == 0);
  CHECK(r.output.find("warning") == std::string::npos);
  for (const char* obj : {"creg.o", "ccls.o"})
    CHECK(fs::exists(dir / obj));

  for (const aot::AotFiles& f : files) {
    INFO(f.cuda);
    const runtime::NvrtcResult nv = runtime::nvrtc_compile(
        slurp(f.cuda),
        {.name = fs::path(f.cuda).stem().string(), .sm = 80, .cubin = false, .use_cache = false});
    CHECK_FALSE(nv.binary.empty());
    CHECK(nv.log.find("warning") == std::string::npos);
  }
}

TEST_CASE("the header declares the CUDA entry points only when the .cu is emitted") {
  const aot_test::TempDir tmp("aot-cuda-header");
  const fs::path& dir = tmp.path();
  const std::vector<aot::AotFiles> files = emit_cuda_models(dir);
  const std::string with = slurp(files[0].header);
  CHECK(
      with.find(
          "int creg_cuda_train_step(long long n, const float* x, const float* target, float lr,") !=
      std::string::npos);
  CHECK(slurp(files[1].header)
            .find("int ccls_cuda_train_step(long long n, const float* x, const int32_t* labels") !=
        std::string::npos);

  aot::AotSpec cpu_only;
  cpu_only.name = "cpu";
  cpu_only.out_dir = dir.string();
  cpu_only.net = nn::Sequential{nn::Linear(3, 2)};
  cpu_only.in_features = 3;
  cpu_only.out_features = 2;
  const aot::AotFiles f = aot::emit(cpu_only);
  CHECK(f.cuda.empty());
  CHECK_FALSE(fs::exists(dir / "cpu.cu"));
  CHECK(slurp(f.header).find("_cuda_") == std::string::npos);
  CHECK(slurp(f.header).find("cpu_train_step") == std::string::npos); // no optimizer, no step
}
