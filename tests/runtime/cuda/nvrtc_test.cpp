#include "runtime/cuda/nvrtc.h"
#include "runtime/kernel_cache.h"

#include "cuda_test_util.h"

#include "base/error.h"

#include <catch2/catch.hpp>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <string>

using namespace kiln::runtime;
using kiln::test::blank;
using kiln::test::kFusedKernels;
using kiln::test::le;
using kiln::test::read_file;
using kiln::test::ScopedEnv;
using kiln::test::TempDir;
namespace fs = std::filesystem;

namespace {

// Tests never touch the user's cache in ~/.cache/kiln; the cache test brings its own.
NvrtcOptions options(const std::string& name, int sm, bool cubin) {
  NvrtcOptions o;
  o.name = name;
  o.sm = sm;
  o.cubin = cubin;
  o.use_cache = false;
  return o;
}

constexpr int kEmCuda = 190; // ELF e_machine of NVIDIA CUDA binaries

} // namespace

TEST_CASE("NVRTC reports its version and ascending supported architectures") {
  const std::string v = nvrtc_version();
  REQUIRE(v.find('.') != std::string::npos);
  CHECK(std::all_of(v.begin(), v.end(), [](char c) { return std::isdigit(c) || c == '.'; }));
  const std::vector<int>& archs = nvrtc_supported_archs();
  REQUIRE_FALSE(archs.empty());
  CHECK(std::is_sorted(archs.begin(), archs.end()));
  CHECK(archs.front() >= 30);
}

TEST_CASE("nvrtc_flags lists kiln's options, then the caller's") {
  NvrtcOptions o = options("k", 90, true);
  std::vector<std::string> f = nvrtc_flags(o);
  REQUIRE(f.size() == 5);
  CHECK(f[0] == "--std=c++17");
  CHECK(f[1] == "-arch=sm_90");
  CHECK(f[2] == "-default-device");
  CHECK(f[3] == "--extra-device-vectorization");
  REQUIRE(f[4].rfind("--include-path=", 0) == 0);
  CHECK(fs::exists(fs::path(f[4].substr(15)) / "cuda_fp16.h"));

  o.cubin = false;
  o.sm = 80;
  o.fast_math = true;
  o.extra = {"-lineinfo"};
  f = nvrtc_flags(o);
  CHECK(f[1] == "-arch=compute_80");
  REQUIRE(f.size() == 7);
  CHECK(f[5] == "--use_fast_math");
  CHECK(f[6] == "-lineinfo");
}

TEST_CASE("the fused kernels compile to a warning-free CUBIN whose ELF header names the arch") {
  for (int sm : {80, 90}) {
    INFO("sm_" << sm);
    const NvrtcResult r = nvrtc_compile(kFusedKernels, options("fused", sm, true));
    CHECK(r.is_cubin);
    CHECK_FALSE(r.from_cache);
    CHECK(blank(r.log));
    const std::string& b = r.binary;
    REQUIRE(b.size() > 64);
    CHECK(b.compare(0, 4, "\177ELF") == 0);
    CHECK(b[4] == 2);                                    // ELFCLASS64
    CHECK(le(b, 18, 2) == kEmCuda);                      // e_machine
    CHECK(((le(b, 48, 4) >> 8) & 0xff) == uint64_t(sm)); // e_flags: the SM in bits 8..15
    CHECK(b.find("fused_tanh_affine") != std::string::npos);
    CHECK(b.find("block_sum") != std::string::npos);
  }
}

TEST_CASE("the fused kernels compile to warning-free PTX for a virtual arch") {
  const NvrtcResult r = nvrtc_compile(kFusedKernels, options("fused", 90, false));
  CHECK_FALSE(r.is_cubin);
  CHECK(blank(r.log));
  const std::string& p = r.binary;
  CHECK(p.find('\0') == std::string::npos);
  CHECK(p.find(".target sm_90") != std::string::npos);
  CHECK(p.find(".entry fused_tanh_affine(") != std::string::npos);
  CHECK(p.find(".entry block_sum(") != std::string::npos);
  CHECK(p.find(".shared") != std::string::npos);
  CHECK(p.find("bar.sync") != std::string::npos);
}

TEST_CASE("fast math turns tanhf into the hardware approximation") {
  NvrtcOptions o = options("fused", 90, false);
  const std::string precise = nvrtc_compile(kFusedKernels, o).binary;
  o.fast_math = true;
  const NvrtcResult fast = nvrtc_compile(kFusedKernels, o);
  CHECK(blank(fast.log));
  CHECK(fast.binary.find("tanh.approx.f32") != std::string::npos);
  CHECK(precise.find("tanh.approx.f32") == std::string::npos);
}

TEST_CASE("cuda_fp16.h resolves through the CUDA include directory") {
  const std::string src = R"(
#include <cuda_fp16.h>
extern "C" __global__ void half_scale(__half* x, int n) {
  const int i = (int)(blockIdx.x * blockDim.x + threadIdx.x);
  if (i < n) x[i] = __hmul(x[i], __float2half(2.0f));
}
)";
  const NvrtcResult r = nvrtc_compile(src, options("half_scale", 90, false));
  CHECK(blank(r.log));
  CHECK(r.binary.find(".entry half_scale(") != std::string::npos);
}

TEST_CASE("a syntax error throws CompileError with the log and a dumped source") {
  ScopedEnv no_dump("KILN_DUMP_DIR", std::nullopt);
  const std::string src = "extern \"C\" __global__ void broken(float* y) { y[0] = 1.0f +; }\n";
  try {
    nvrtc_compile(src, options("broken_kernel", 90, true));
    FAIL("expected CompileError");
  } catch (const kiln::CompileError& e) {
    const std::string what = e.what();
    CHECK(what.rfind("[nvrtc] failed to compile broken_kernel for sm_90: NVRTC_ERROR_COMPILATION\n",
                     0) == 0);
    CHECK(e.log().find("error: expected an expression") != std::string::npos);
    CHECK(what.find(e.log()) != std::string::npos);
    REQUIRE_FALSE(e.source_path().empty());
    CHECK(what.find("source: " + e.source_path()) != std::string::npos);
    CHECK(fs::path(e.source_path()).filename().string().rfind("broken_kernel-", 0) == 0);
    CHECK(read_file(e.source_path()) == src);
    fs::remove(e.source_path());
  }
}

TEST_CASE("a failing PTX compile names the virtual arch") {
  ScopedEnv no_dump("KILN_DUMP_DIR", std::nullopt);
  try {
    nvrtc_compile("__global__ void k() { undeclared_thing(); }", options("", 80, false));
    FAIL("expected CompileError");
  } catch (const kiln::CompileError& e) {
    CHECK(std::string(e.what()).rfind("[nvrtc] failed to compile kernel for compute_80: ", 0) == 0);
    CHECK(e.log().find("undeclared_thing") != std::string::npos);
    fs::remove(e.source_path());
  }
}

TEST_CASE("KILN_DUMP_DIR receives every source as <name>.cu") {
  TempDir dir("dump");
  ScopedEnv dump("KILN_DUMP_DIR", (dir.path() / "sub").string());
  nvrtc_compile(kFusedKernels, options("dumped/../kernel", 90, false));
  CHECK(read_file(dir.path() / "sub" / "dumped_.._kernel.cu") == kFusedKernels);
  try {
    nvrtc_compile("this is not CUDA", options("bad", 90, true));
    FAIL("expected CompileError");
  } catch (const kiln::CompileError& e) {
    CHECK(fs::path(e.source_path()) == dir.path() / "sub" / "bad.cu");
    CHECK(read_file(e.source_path()) == "this is not CUDA");
  }
}

TEST_CASE("an architecture NVRTC does not support is refused up front") {
  std::string archs;
  for (int a : nvrtc_supported_archs())
    archs += (archs.empty() ? "" : " ") + std::to_string(a);
  try {
    nvrtc_compile(kFusedKernels, options("fused", 60, true));
    FAIL("expected CompileError");
  } catch (const kiln::CompileError& e) {
    CHECK(std::string(e.what()) == "[nvrtc] failed to compile fused for sm_60: NVRTC " +
                                       nvrtc_version() +
                                       " does not support 60; supported: " + archs);
  }
}

TEST_CASE("an option NVRTC does not know fails with its error name") {
  NvrtcOptions o = options("fused", 90, true);
  o.extra = {"--no-such-option"};
  try {
    nvrtc_compile(kFusedKernels, o);
    FAIL("expected CompileError");
  } catch (const kiln::CompileError& e) {
    CHECK(std::string(e.what()).rfind(
              "[nvrtc] failed to compile fused for sm_90: NVRTC_ERROR_INVALID_OPTION", 0) == 0);
    CHECK(e.log().find("--no-such-option") != std::string::npos);
    fs::remove(e.source_path());
  }
}

TEST_CASE("pick_sm takes the device's arch, else the highest supported one below it") {
  CHECK(pick_sm(90, {75, 80, 86, 90, 100}) == 90);
  CHECK(pick_sm(89, {75, 80, 86, 90}) == 86);
  CHECK(pick_sm(121, {75, 90, 120}) == 120);
  try {
    pick_sm(61, {75, 80});
    FAIL("expected DeviceError");
  } catch (const kiln::DeviceError& e) {
    CHECK(std::string(e.what()) == "[nvrtc] device sm_61 is older than every architecture NVRTC " +
                                       nvrtc_version() + " supports: 75 80");
  }
  DeviceInfo hopper;
  hopper.cc_major = 9;
  CHECK(pick_sm(hopper) == 90);
}

TEST_CASE("a CUBIN is used only where it runs, PTX covers newer majors") {
  DeviceInfo d;
  d.cc_major = 8;
  d.cc_minor = 6;
  CHECK(cubin_runs_on(80, d));
  CHECK(cubin_runs_on(86, d));
  CHECK_FALSE(cubin_runs_on(87, d));
  CHECK_FALSE(cubin_runs_on(75, d));
  CHECK_FALSE(cubin_runs_on(90, d));

  const NvrtcOptions o = nvrtc_options_for(d, "fused");
  CHECK(o.name == "fused");
  CHECK(o.sm == 86);
  CHECK(o.cubin);

  DeviceInfo future; // newer than anything this NVRTC knows: compile PTX for its best arch
  future.cc_major = 99;
  const NvrtcOptions f = nvrtc_options_for(future, "fused");
  CHECK(f.sm == nvrtc_supported_archs().back());
  CHECK_FALSE(f.cubin);
  NvrtcOptions g = f;
  g.use_cache = false;
  CHECK(nvrtc_compile(kFusedKernels, g).binary.find(".entry fused_tanh_affine(") !=
        std::string::npos);
}

TEST_CASE("the second compile of the same source is a kernel-cache hit") {
  TempDir dir("cache");
  KernelCache cache(dir.path());
  NvrtcOptions o = options("fused", 90, true);
  o.use_cache = true;
  o.cache = &cache;

  const NvrtcResult cold = nvrtc_compile(kFusedKernels, o);
  CHECK_FALSE(cold.from_cache);
  CHECK(cache.stats().misses == 1);
  CHECK(cache.stats().stores == 1);

  const NvrtcResult warm = nvrtc_compile(kFusedKernels, o);
  CHECK(warm.from_cache);
  CHECK(warm.is_cubin);
  CHECK(warm.binary == cold.binary);
  CHECK(cache.stats().hits == 1);

  // Every input of the key matters: the arch kind, the flags, the source.
  o.cubin = false;
  CHECK_FALSE(nvrtc_compile(kFusedKernels, o).from_cache);
  o.fast_math = true;
  CHECK_FALSE(nvrtc_compile(kFusedKernels, o).from_cache);
  CHECK_FALSE(nvrtc_compile(std::string(kFusedKernels) + "\n", o).from_cache);
  CHECK(cache.stats().hits == 1);

  o.use_cache = false; // bypasses the cache entirely
  CHECK_FALSE(nvrtc_compile(kFusedKernels, o).from_cache);
  CHECK(cache.stats().hits + cache.stats().misses == 5);
}
