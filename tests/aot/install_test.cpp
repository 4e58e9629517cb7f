// An installed kiln, used the way an application project would: `cmake --install` of this build
// into a temporary prefix, then an out-of-tree project that finds it with find_package(kiln),
// generates its kernels with kiln_add_kernels, links only them, runs, and prints what the JIT
// computes. Takes tens of seconds: it configures and builds a whole project.

#include <catch2/catch.hpp>

#include <fstream>
#include <sstream>

#include "aot/aot_model.h"
#include "runtime/executable.h"
#include "support.h"

using namespace kiln;
using aot_test::relative_difference;
using aot_test::run_command;
using aot_test::shell_quote;
namespace fs = std::filesystem;

namespace {

constexpr const char* kProjectCMake = R"(cmake_minimum_required(VERSION 3.20)
project(kiln_consumer LANGUAGES CXX)
find_package(kiln 0.1 REQUIRED)
add_library(tiny_kernels STATIC)
kiln_add_kernels(tiny_kernels GENERATOR model.cpp NAME tiny
                 ARGS --width-file ${CMAKE_CURRENT_SOURCE_DIR}/width.txt
                 DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/width.txt)
add_executable(app main.cpp)
target_link_libraries(app PRIVATE tiny_kernels)
set_target_properties(tiny_kernels app PROPERTIES CXX_STANDARD 17 CXX_STANDARD_REQUIRED ON)
)";

// The network of the test's reference below: keep the two in step.
constexpr const char* kModel = R"(#include <fstream>
#include "aot/generator.h"
int main(int argc, char** argv) {
  using namespace kiln;
  return aot::generator_main(argc, argv, [](const aot::GeneratorArgs& args) {
    int width = 0;
    std::ifstream(args.value("--width-file")) >> width;
    aot::AotSpec s;
    s.net = nn::Sequential{nn::Linear(3, width), nn::Tanh(), nn::Linear(width, 2)};
    s.in_features = 3;
    s.out_features = 2;
    s.optimizer = std::make_shared<optim::SGD>(0.1);
    return s;
  });
}
)";

// Values exactly representable in float, so that the test feeds the JIT the same bits.
constexpr const char* kMain = R"(#include <cstdio>
#include <cstdlib>
#include <vector>
#include "tiny.h"
int main() {
  const long long n = 4;
  std::vector<std::vector<float>> params(TINY_NUM_PARAMS), state(TINY_NUM_STATE);
  std::vector<float*> p, s;
  for (int i = 0; i < TINY_NUM_PARAMS; ++i) {
    for (long long k = 0; k < tiny_params[i].size; ++k) params[i].push_back(((i * 7 + k * 3) % 11 - 5) / 8.0f);
    p.push_back(params[i].data());
  }
  for (int i = 0; i < TINY_NUM_STATE; ++i) {
    state[i].resize(tiny_state[i].size);
    s.push_back(state[i].data());
  }
  tiny_init_optimizer_state(s.data());
  float x[n * 3], t[n * 2], y[n * 2];
  for (int j = 0; j < n * 3; ++j) x[j] = ((j * 5) % 7 - 3) / 4.0f;
  for (int j = 0; j < n * 2; ++j) t[j] = ((j * 3) % 5 - 2) / 2.0f;
  void* ws = std::aligned_alloc(64, tiny_workspace_bytes(n));
  std::printf("floats %d\n", TINY_PARAM_FLOATS);
  if (tiny_forward(n, x, y, p.data(), ws) != KILN_AOT_OK) return 1;
  std::printf("y");
  for (float v : y) std::printf(" %.9g", v);
  for (int step = 0; step < 2; ++step) {
    float loss = 0;
    if (tiny_train_step(n, x, t, 0.1f, p.data(), s.data(), &loss, ws) != KILN_AOT_OK) return 1;
    std::printf("\nloss %.9g", loss);
  }
  for (int i = 0; i < TINY_NUM_PARAMS; ++i) {
    std::printf("\nparam");
    for (float v : params[i]) std::printf(" %.9g", v);
  }
  std::printf("\n");
  std::free(ws);
  return 0;
}
)";

void write(const fs::path& path, const std::string& text) {
  std::ofstream(path) << text;
}

/** The lines of `text` that start with `key`, as numbers. */
std::vector<std::vector<float>> rows(const std::string& text, const std::string& key) {
  std::vector<std::vector<float>> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    std::istringstream words(line);
    std::string first;
    words >> first;
    if (first != key)
      continue;
    out.emplace_back();
    for (float v; words >> v;)
      out.back().push_back(v);
  }
  return out;
}

/** What the application computes, through the JIT: y, two losses, then the params. */
std::string jit_reference() {
  aot::AotSpec s;
  s.name = "tiny";
  s.net = nn::Sequential{nn::Linear(3, 5), nn::Tanh(), nn::Linear(5, 2)};
  s.in_features = 3;
  s.out_features = 2;
  s.optimizer = std::make_shared<optim::SGD>(0.1);
  const aot::detail::AotModel m = aot::detail::build_model(s);
  const int64_t n = 4;
  MatrixRM x(n, 3), t(n, 2);
  for (int j = 0; j < n * 3; ++j)
    x.data()[j] = static_cast<float>(((j * 5) % 7 - 3) / 4.0);
  for (int j = 0; j < n * 2; ++j)
    t.data()[j] = static_cast<float>(((j * 3) % 5 - 2) / 2.0);
  Executable fwd = Executable::compile(m.forward_graph);
  Executable step = Executable::compile(m.step_graph->graph, {.updates = m.step_graph->updates});
  for (size_t i = 0; i < m.params.size(); ++i) {
    std::vector<float> v(static_cast<size_t>(m.params[i].size));
    for (int64_t k = 0; k < m.params[i].size; ++k)
      v[static_cast<size_t>(k)] =
          static_cast<float>((static_cast<int64_t>(i) * 7 + k * 3) % 11 - 5) / 8.0f;
    fwd.set_param(m.params[i].name, aot_test::param_matrix(v, m.params[i].dims));
    step.set_param(m.params[i].name, aot_test::param_matrix(v, m.params[i].dims));
  }
  for (const auto& st : m.state)
    step.set_param(st.name, aot_test::param_matrix(std::vector<float>(static_cast<size_t>(st.size),
                                                                      static_cast<float>(st.init)),
                                                   st.dims));
  std::ostringstream out;
  out.precision(9);
  out << "y";
  const MatrixRM y = fwd.run({{"y", x}}).at("F");
  for (int64_t k = 0; k < y.size(); ++k)
    out << ' ' << y.data()[k];
  const MatrixRM lr = MatrixRM::Constant(1, 1, 0.1f);
  for (int s2 = 0; s2 < 2; ++s2)
    out << "\nloss " << step.run({{"y", x}, {"c", t}, {"lr", lr}}).at("loss")(0, 0);
  for (const auto& p : m.params) {
    out << "\nparam";
    const MatrixRM v = step.param(p.name);
    for (int64_t k = 0; k < v.size(); ++k)
      out << ' ' << v.data()[k];
  }
  return out.str() + "\n";
}

/** Runs a step of the test, failing with its output when it fails. */
std::string must(const std::string& what, const std::string& command) {
  const auto r = run_command(command);
  INFO(what << ": " << command << "\n" << r.output);
  REQUIRE(r.status == 0);
  return r.output;
}

std::string slurp(const fs::path& p) {
  std::ifstream f(p);
  return {std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>()};
}

} // namespace

TEST_CASE(
    "an installed kiln builds an out-of-tree project with find_package and kiln_add_kernels") {
  const aot_test::TempDir tmp("aot-install");
  const fs::path prefix = tmp / "prefix", src = tmp / "project", build = tmp / "build";
  const std::string cmake = shell_quote(KILN_CMAKE_COMMAND);
  must("install", cmake + " --install " + shell_quote(KILN_BINARY_DIR) + " --prefix " +
                      shell_quote(prefix.string()) + " --component kiln");
  // The package must stand on its own: nothing in it points back at the source or build tree.
  for (const auto& f : fs::directory_iterator(prefix / "lib" / "cmake" / "kiln")) {
    INFO(f.path());
    CHECK(slurp(f.path()).find(KILN_SOURCE_DIR) == std::string::npos);
    CHECK(slurp(f.path()).find(KILN_BINARY_DIR) == std::string::npos);
  }
  CHECK(fs::exists(prefix / "include" / "kiln" / "aot" / "generator.h"));

  fs::create_directories(src);
  write(src / "CMakeLists.txt", kProjectCMake);
  write(src / "model.cpp", kModel);
  write(src / "main.cpp", kMain);
  write(src / "width.txt", "5\n");
  // No build type: nothing here needs optimizing, and unoptimized builds are the fastest.
  must("configure", cmake + " -S " + shell_quote(src.string()) + " -B " +
                        shell_quote(build.string()) + " -G " + shell_quote(KILN_CMAKE_GENERATOR) +
                        " -DCMAKE_MAKE_PROGRAM=" + shell_quote(KILN_MAKE_PROGRAM) +
                        " -DCMAKE_CXX_COMPILER=" + shell_quote(KILN_CXX_COMPILER) +
                        " -DCMAKE_C_COMPILER=" + shell_quote(KILN_C_COMPILER) +
                        " -DCMAKE_BUILD_TYPE= -Dkiln_DIR=" +
                        shell_quote((prefix / "lib" / "cmake" / "kiln").string()));
  const std::string build_cmd = cmake + " --build " + shell_quote(build.string());
  CHECK_THAT(must("build", build_cmd),
             Catch::Matchers::Contains("kiln: generating the kernels of tiny"));
  const std::string app = shell_quote((build / "app").string());
  const std::string out = must("run", app);

  // Only the generated files are linked into the application.
  std::string link = slurp(build / "CMakeFiles" / "app.dir" / "link.txt"); // Makefile generators
  if (link.empty()) {
    const std::string ninja = slurp(build / "build.ninja");
    const size_t at = ninja.find("build app:");
    REQUIRE(at != std::string::npos);
    link = ninja.substr(at, ninja.find("\n\n", at) - at);
  }
  CHECK(link.find("libtiny_kernels.a") != std::string::npos);
  CHECK(link.find("kiln_runtime") == std::string::npos);
  CHECK(link.find("LLVM") == std::string::npos);

  CHECK(rows(out, "floats") == std::vector<std::vector<float>>{{3 * 5 + 5 + 5 * 2 + 2}});
  const std::string want = jit_reference();
  for (const char* key : {"y", "loss", "param"}) {
    const auto got = rows(out, key), ref = rows(want, key);
    INFO(key << "\napplication:\n" << out << "JIT:\n" << want);
    REQUIRE(got.size() == ref.size());
    for (size_t i = 0; i < got.size(); ++i)
      CHECK(relative_difference(got[i], ref[i]) <= 1e-5);
  }

  // A rebuild with nothing changed does nothing; a changed DEPENDS file re-runs the generator.
  CHECK_THAT(must("rebuild", build_cmd), !Catch::Matchers::Contains("kiln: generating"));
  write(src / "width.txt", "6\n");
  CHECK_THAT(must("rebuild after an edit", build_cmd),
             Catch::Matchers::Contains("kiln: generating the kernels of tiny"));
  CHECK(rows(must("run again", app), "floats") ==
        std::vector<std::vector<float>>{{3 * 6 + 6 + 6 * 2 + 2}});
}
