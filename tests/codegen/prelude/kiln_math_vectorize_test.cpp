// kiln_math.h under the CPU JIT's compiler and flags (clang 14, -O3 -march=native
// -ffp-contract=fast): loops over the float functions must vectorize into packed FMAs with no
// libm calls, and the vectorized code must keep the documented accuracy.

#include <catch2/catch.hpp>

#include <dlfcn.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include "codegen/prelude/kiln_math_source.h"
#include "tests/codegen/prelude/ulp_sweep.h"

namespace {

namespace fs = std::filesystem;

constexpr const char* kClang = KILN_TEST_CLANGXX; // empty when CMake found no clang++-14
constexpr const char* kGxx = KILN_TEST_GXX;       // the host g++, empty for another compiler
constexpr const char* kFlags = "-std=c++17 -O3 -march=native -ffp-contract=fast -fno-exceptions";
const char* const kUnary[] = {"exp", "expm1", "log", "log1p", "tanh", "sigmoid",
                              "erf", "sin",   "cos", "sqrt",  "abs",  "relu"};

/** The kernel file: the embedded header text, then one loop per function. */
std::string kernel_source() {
  std::string src = kiln::codegen::kKilnMathSource;
  for (const char* f : kUnary)
    src += kiln::str("\nextern \"C\" void k_", f,
                     "(const float* __restrict x, float* __restrict y, int n) {\n"
                     "  for (int i = 0; i < n; ++i) y[i] = kiln_",
                     f, "(x[i]);\n}\n");
  src += "\nextern \"C\" void k_pow(const float* __restrict x, const float* __restrict e, "
         "float* __restrict y, int n) {\n  for (int i = 0; i < n; ++i) y[i] = kiln_pow(x[i], "
         "e[i]);\n}\n";
  return src;
}

std::string read_file(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

/** The assembly of one function, from its label to the end of its body. */
std::string function_asm(const std::string& text, const std::string& name) {
  const std::string label = "\n" + name + ":";
  const size_t begin = text.find(label);
  if (begin == std::string::npos)
    return "";
  const size_t end = text.find(".cfi_endproc", begin);
  return text.substr(begin, end == std::string::npos ? std::string::npos : end - begin);
}

/**
 * Compiles the kernels with one compiler into a scratch directory: assembly, and with
 * make_library a shared library.
 */
struct Compiled {
  fs::path dir;
  std::string asm_text;
  std::string so_path;
  bool ok = false;
  std::string log;

  Compiled(const char* compiler, const char* tag, bool make_library) {
    dir = fs::temp_directory_path() / kiln::str("kiln_math_vectorize_", tag, "_", ::getpid());
    fs::create_directories(dir);
    const fs::path cpp = dir / "kernels.cpp";
    std::ofstream(cpp) << kernel_source();
    const std::string base = kiln::str(compiler, " ", kFlags, " ", cpp.string());
    const std::string log_path = (dir / "log.txt").string();
    const std::string s_cmd =
        kiln::str(base, " -S -o ", (dir / "kernels.s").string(), " 2>", log_path);
    so_path = (dir / "kernels.so").string();
    const std::string so_cmd = kiln::str(base, " -shared -fPIC -o ", so_path, " 2>>", log_path);
    ok = std::system(s_cmd.c_str()) == 0 && (!make_library || std::system(so_cmd.c_str()) == 0);
    log = read_file(log_path);
    asm_text = read_file(dir / "kernels.s");
  }
  ~Compiled() {
    std::error_code ec;
    fs::remove_all(dir, ec);
  }
};

const Compiled& compiled_by_clang() {
  static Compiled c(kClang, "clang", true);
  return c;
}

bool have(const char* compiler, const char* what) {
  if (*compiler == '\0' || ::access(compiler, X_OK) != 0) {
    WARN(what << " not found: skipping its checks of kiln_math.h");
    return false;
  }
  return true;
}

/** Every kernel is a vector loop with packed FMAs and no calls. */
void check_vectorized(const Compiled& c) {
  INFO(c.log);
  REQUIRE(c.ok);
  const std::regex packed_fma_ps(R"(vfn?m(add|sub)\d+ps\s[^\n]*%[yz]mm)");
  const std::regex packed_fma(R"(vfn?m(add|sub)\d+p[sd]\s[^\n]*%[yz]mm)");
  const std::regex any_call(R"(\bcall)");
  for (const char* name :
       {"exp", "expm1", "log", "log1p", "tanh", "sigmoid", "erf", "sin", "cos", "sqrt", "pow"}) {
    const std::string f = name;
    const std::string body = function_asm(c.asm_text, "k_" + f);
    INFO("k_" << f << " assembly:\n" << body.substr(0, 4000));
    REQUIRE(!body.empty());
    CHECK_FALSE(std::regex_search(body, any_call));
    // sqrt (without -fno-math-errno) and pow do their work in double.
    CHECK(std::regex_search(body, (f == "sqrt" || f == "pow") ? packed_fma : packed_fma_ps));
  }
}

} // namespace

TEST_CASE("loops over kiln_math functions vectorize under the JIT's clang and flags",
          "[kiln_math]") {
  if (!have(kClang, "clang++-14"))
    return;
  check_vectorized(compiled_by_clang());
}

TEST_CASE("loops over kiln_math functions vectorize under g++ with the same flags", "[kiln_math]") {
  // Ahead-of-time kernels are built by the user's compiler, often g++.
  if (!have(kGxx, "g++"))
    return;
  check_vectorized(Compiled(kGxx, "gxx", false));
}

TEST_CASE("kiln_math keeps its accuracy when clang vectorizes it", "[kiln_math]") {
  if (!have(kClang, "clang++-14"))
    return;
  const Compiled& c = compiled_by_clang();
  INFO(c.log);
  REQUIRE(c.ok);
  void* lib = ::dlopen(c.so_path.c_str(), RTLD_NOW | RTLD_LOCAL);
  REQUIRE(lib != nullptr);
  using Kernel = void (*)(const float*, float*, int);
  struct Spec {
    const char* name;
    double (*ref)(double);
    float lo, hi;
    int64_t bound;
  };
  const Spec specs[] = {
      {"exp", [](double x) { return std::exp(x); }, -105.0f, 90.0f, 1},
      {"expm1", [](double x) { return std::expm1(x); }, -20.0f, 90.0f, 1},
      {"log", [](double x) { return std::log(x); }, 0.0f, INFINITY, 1},
      {"log1p", [](double x) { return std::log1p(x); }, -1.0f, INFINITY, 1},
      {"tanh", [](double x) { return std::tanh(x); }, -12.0f, 12.0f, 1},
      {"sigmoid", [](double x) { return 1.0 / (1.0 + std::exp(-x)); }, -105.0f, 20.0f, 2},
      {"erf", [](double x) { return std::erf(x); }, -5.0f, 5.0f, 1},
      {"sin", [](double x) { return std::sin(x); }, -0x1p21f, 0x1p21f, 2},
      {"cos", [](double x) { return std::cos(x); }, -0x1p21f, 0x1p21f, 2},
      {"sqrt", [](double x) { return std::sqrt(x); }, 0.0f, INFINITY, 0},
      {"relu", [](double x) { return x < 0.0 ? 0.0 : x; }, -INFINITY, INFINITY, 0},
  };
  for (const Spec& s : specs) {
    auto k = reinterpret_cast<Kernel>(::dlsym(lib, kiln::str("k_", s.name).c_str()));
    REQUIRE(k != nullptr);
    const kiln::test::UlpReport r = kiln::test::sweep_ulp_batch(k, s.ref, s.lo, s.hi, 2053);
    INFO(r.describe(s.name));
    CHECK(r.max_ulp <= s.bound);
  }
  using PowKernel = void (*)(const float*, const float*, float*, int);
  auto k_pow = reinterpret_cast<PowKernel>(::dlsym(lib, "k_pow"));
  REQUIRE(k_pow != nullptr);
  for (float e : {3.0f, 0.5f, -1.5f}) {
    const std::vector<float> es(4096, e);
    auto batch = [&](const float* x, float* y, int n) { k_pow(x, es.data(), y, n); };
    auto ref = [e](double x) { return std::pow(x, static_cast<double>(e)); };
    const kiln::test::UlpReport r = kiln::test::sweep_ulp_batch(batch, ref, -1e8f, 1e8f, 2053);
    INFO("y = " << e << ": " << r.describe("pow"));
    CHECK(r.max_ulp <= 1);
  }
  ::dlclose(lib);
}
