// kiln::Executable: the kernel cache seen from a user's compile (cold compiles, warm loads,
// corrupt entries rebuilt), feeding data, sharing weights, and every error message.

#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>

#include "frontend/kiln.h"
#include "runtime/cpu/cpu_jit.h"
#include "runtime/executable.h"
#include "runtime/kernel_cache.h"

using namespace kiln;
using Catch::Matchers::Contains;

namespace {

std::filesystem::path fresh_cache_dir(const std::string& name) {
  const auto d = std::filesystem::temp_directory_path() / ("kiln-exe-test-" + name);
  std::filesystem::remove_all(d);
  return d;
}

Lowered small_net(int hidden) {
  nn::Sequential net{nn::Linear(2, hidden), nn::Tanh(), nn::Linear(hidden, 3)};
  Input y{{2}, "y"};
  Labels c{3, "c"};
  return lower({{"loss", cross_entropy(net(y), c)}, {"F", net(y)}});
}

} // namespace

TEST_CASE("a cold compile runs clang, a warm one loads the object, a corrupt entry is rebuilt") {
  runtime::KernelCache cache(fresh_cache_dir("cache"));
  const Lowered net = small_net(7);
  const auto clang_runs = [] { return runtime::CpuJit::instance().stats().clang_compiles; };

  const int64_t before = clang_runs();
  Executable cold = Executable::compile(net.graph, {.cache = &cache});
  CHECK_FALSE(cold.from_cache());
  CHECK(clang_runs() == before + 1);

  Executable warm = Executable::compile(net.graph, {.cache = &cache});
  CHECK(warm.from_cache());
  CHECK(clang_runs() == before + 1); // nothing compiled

  // Flip one byte of the stored object: the checksum catches it and clang runs again.
  int files = 0;
  for (const auto& e : std::filesystem::directory_iterator(cache.dir())) {
    if (e.path().extension() != ".kc") // the entries, not the file that dates the sweeps
      continue;
    std::fstream f(e.path(), std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(-10, std::ios::end);
    f.put('\x5a');
    ++files;
  }
  REQUIRE(files == 1);
  Executable rebuilt = Executable::compile(net.graph, {.cache = &cache});
  CHECK_FALSE(rebuilt.from_cache());
  CHECK(clang_runs() == before + 2);
  CHECK(cache.stats().corrupt == 1);

  // All three compute the same thing.
  for (Executable* e : {&cold, &warm, &rebuilt})
    e->set_params(init_parameters(net.params, 3, ir::DType::F64));
  MatrixRM y(4, 2);
  y << 0.1f, 0.2f, -1.0f, 2.0f, 0.5f, 0.5f, 3.0f, -3.0f;
  Eigen::VectorXi c(4);
  c << 0, 1, 2, 1;
  const auto a = cold.run({{"y", y}, {"c", c}}), b = warm.run({{"y", y}, {"c", c}}),
             d = rebuilt.run({{"y", y}, {"c", c}});
  CHECK(a.at("F") == b.at("F"));
  CHECK(a.at("F") == d.at("F"));
  CHECK(a.at("loss")(0, 0) == d.at("loss")(0, 0));
  std::filesystem::remove_all(cache.dir());
}

TEST_CASE("kernels can share one set of weights") {
  const Lowered net = small_net(5);
  Executable a = Executable::compile(net.graph), b = Executable::compile(net.graph);
  a.set_params(init_parameters(net.params, 1, ir::DType::F64));
  for (const std::string& p : a.param_names())
    b.bind_param(p, a.param_data(p));
  MatrixRM w = a.param("0.weight");
  w.setConstant(0.25f);
  a.set_param("0.weight", w);
  CHECK(b.param("0.weight") == w);
}

TEST_CASE("Executable error messages") {
  const Lowered net = small_net(4);
  Executable exe = Executable::compile(net.graph);
  MatrixRM y(3, 2);
  y.setZero();
  Eigen::VectorXi c(3);
  c << 0, 1, 2;
  CHECK_THROWS_WITH(exe.run({{"y", y}}), Contains("[Executable] input 'c' (i32[N]) was not fed"));
  MatrixRM wide(3, 5);
  wide.setZero();
  CHECK_THROWS_WITH(exe.run({{"y", wide}, {"c", c}}),
                    Contains("input 'y' expects f32[N,2], got a f32 3x5 matrix"));
  Eigen::VectorXi short_c(2);
  short_c << 0, 1;
  CHECK_THROWS_WITH(exe.run({{"y", y}, {"c", short_c}}),
                    Contains("inputs disagree on the batch size"));
  Eigen::VectorXi bad(3);
  bad << 0, 3, 1;
  CHECK_THROWS_WITH(exe.run({{"y", y}, {"c", bad}}),
                    Contains("[Executable] labels 'c' hold 3 at row 1, outside [0, 3)"));
  CHECK_THROWS_WITH(exe.param("nope"), Contains("[Executable] no param named 'nope'; there are: "));
  CHECK_THROWS_WITH(exe.set_param("0.weight", MatrixRM::Zero(2, 2)),
                    Contains("param '0.weight' is f32[4,2] but a 2x2 matrix was given"));
  CHECK_THROWS_WITH(exe.run_epoch(10, 2, true, 1, {}),
                    Contains("compiled without CompileOptions::epoch"));
  CHECK_THROWS_WITH(exe.bind_param("0.weight", nullptr), Contains("null pointer"));
}
