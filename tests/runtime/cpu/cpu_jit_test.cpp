#include "runtime/cpu/cpu_jit.h"

#include "base/error.h"
#include "jit_test_util.h"

#include <catch2/catch.hpp>

#include <cmath>
#include <thread>
#include <vector>

using Catch::Matchers::Contains;
using Catch::Matchers::StartsWith;
using kiln::CompileError;
using kiln::runtime::CpuCompileOptions;
using kiln::runtime::CpuJit;
using kiln::runtime::KernelCache;
using kiln::test::read_file;
using kiln::test::ScopedEnv;
using kiln::test::TempDir;
namespace fs = std::filesystem;

namespace {

// A vectorisable loop with its own tanh (no headers), like the code kiln generates.
const std::string kSaxpyTanh = R"(
static inline float approx_tanh(float x) {
  x = x < -4.5f ? -4.5f : (x > 4.5f ? 4.5f : x);
  float x2 = x * x;
  float p = x * (135135.0f + x2 * (17325.0f + x2 * (378.0f + x2)));
  float q = 135135.0f + x2 * (62370.0f + x2 * (3150.0f + x2 * 28.0f));
  return p / q;
}
extern "C" void saxpy_tanh(const float* x, const float* y, float* out, int n, float a) {
  for (int i = 0; i < n; ++i) out[i] = approx_tanh(a * x[i] + y[i]);
}
)";

using SaxpyFn = void(const float*, const float*, float*, int, float);

double approx_tanh_ref(double x) {
  x = std::fmin(std::fmax(x, -4.5), 4.5);
  double x2 = x * x;
  return x * (135135 + x2 * (17325 + x2 * (378 + x2))) /
         (135135 + x2 * (62370 + x2 * (3150 + x2 * 28)));
}

// Runs saxpy_tanh on n = 1003 (not a multiple of any vector width) and returns the largest
// error against the same approximation in double. No Catch2 macros: it runs on worker threads.
double saxpy_error(const kiln::runtime::CpuModule& m) {
  const int n = 1003;
  std::vector<float> x(n), y(n), out(n, -99.f);
  for (int i = 0; i < n; ++i) {
    x[i] = std::sin(0.37f * i) * 3;
    y[i] = std::cos(0.11f * i);
  }
  m.function<SaxpyFn>("saxpy_tanh")(x.data(), y.data(), out.data(), n, 0.8f);
  double max_err = 0;
  for (int i = 0; i < n; ++i)
    max_err = std::fmax(max_err, std::fabs(out[i] - approx_tanh_ref(0.8 * x[i] + y[i])));
  return max_err;
}

void check_saxpy(const kiln::runtime::CpuModule& m) {
  CHECK(saxpy_error(m) < 1e-5);
  // The approximation is close to tanh itself, so the reference above is not vacuous.
  CHECK(std::fabs(approx_tanh_ref(0.7) - std::tanh(0.7)) < 1e-6);
}

// An extern "C" function returning `value`, so sources differ per call site.
std::string constant_source(const std::string& fn, int value) {
  return "extern \"C\" int " + fn + "() { return " + std::to_string(value) + "; }\n";
}

CpuCompileOptions named(const std::string& name) {
  CpuCompileOptions o;
  o.name = name;
  return o;
}

} // namespace

TEST_CASE("CpuJit compiles a vectorisable kernel that computes correctly") {
  TempDir tmp;
  KernelCache cache(tmp.path());
  auto m = CpuJit::instance().compile(kSaxpyTanh, named("saxpy"), &cache);
  REQUIRE(m);
  CHECK(m->name() == "saxpy");
  CHECK_FALSE(m->from_cache());
  CHECK(m->compile_ms() > 0);
  check_saxpy(*m);
}

TEST_CASE("CpuJit caches object files: miss in a fresh dir, hit in the same dir") {
  CpuJit& jit = CpuJit::instance();
  TempDir dir_a, dir_b;
  const auto before = jit.stats();
  {
    KernelCache cache(dir_a.path());
    auto m = jit.compile(kSaxpyTanh, named("saxpy"), &cache);
    CHECK_FALSE(m->from_cache());
    CHECK(cache.stats().misses == 1);
    CHECK(cache.stats().stores == 1);
    CHECK(jit.stats().clang_compiles == before.clang_compiles + 1);
  }
  {
    // A new cache object on the same directory, as a new process would see it.
    KernelCache cache(dir_a.path());
    auto m = jit.compile(kSaxpyTanh, named("saxpy"), &cache);
    CHECK(m->from_cache());
    CHECK(cache.stats().hits == 1);
    CHECK(jit.stats().clang_compiles == before.clang_compiles + 1);
    CHECK(jit.stats().cache_loads == before.cache_loads + 1);
    check_saxpy(*m);
  }
  {
    KernelCache cache(dir_b.path());
    auto m = jit.compile(kSaxpyTanh, named("saxpy"), &cache);
    CHECK_FALSE(m->from_cache());
    CHECK(jit.stats().clang_compiles == before.clang_compiles + 2);
  }
  {
    // Different flags are a different key.
    KernelCache cache(dir_a.path());
    CpuCompileOptions fast = named("saxpy");
    fast.fast_math = true;
    auto m = jit.compile(kSaxpyTanh, fast, &cache);
    CHECK_FALSE(m->from_cache());
    check_saxpy(*m);
  }
}

TEST_CASE("CpuJit links several translation units into one module, each cached on its own") {
  CpuJit& jit = CpuJit::instance();
  TempDir tmp;
  // Unit 0 calls what units 1 and 2 define; each unit compiles on its own thread.
  const std::vector<std::string> units{
      "extern \"C\" int twice(int);\nextern \"C\" int plus_one(int);\n"
      "extern \"C\" int both(int x) { return plus_one(twice(x)); }\n",
      "extern \"C\" int twice(int x) { return 2 * x; }\n",
      "extern \"C\" int plus_one(int x) { return x + 1; }\n"};
  const auto before = jit.stats();
  {
    KernelCache cache(tmp.path());
    auto m = jit.compile(units, named("parts"), &cache);
    CHECK_FALSE(m->from_cache());
    CHECK(m->function<int(int)>("both")(20) == 41);
    CHECK(m->function<int(int)>("twice")(4) == 8);
    CHECK(jit.stats().clang_compiles == before.clang_compiles + 3);
    CHECK(cache.stats().stores == 3);
  }
  {
    KernelCache cache(tmp.path());
    auto m = jit.compile(units, named("parts"), &cache);
    CHECK(m->from_cache());
    CHECK(m->function<int(int)>("both")(1) == 3);
    CHECK(jit.stats().cache_loads == before.cache_loads + 3);
  }
  {
    // One unit changed: only it compiles again, and the module is not from the cache.
    KernelCache cache(tmp.path());
    std::vector<std::string> changed = units;
    changed[2] = "extern \"C\" int plus_one(int x) { return x + 100; }\n";
    auto m = jit.compile(changed, named("parts"), &cache);
    CHECK_FALSE(m->from_cache());
    CHECK(m->function<int(int)>("both")(1) == 102);
    CHECK(jit.stats().clang_compiles == before.clang_compiles + 4);
  }
  // An error in a later unit names that unit's file.
  std::vector<std::string> broken = units;
  broken[1] = "extern \"C\" int twice(int x) { return 2 * y; }\n";
  CHECK_THROWS_WITH(jit.compile(broken, named("parts"), nullptr),
                    StartsWith("[cpu_jit] failed to compile parts") &&
                        Contains("parts_part1.cpp") && Contains("undeclared identifier 'y'"));
  CHECK_THROWS_WITH(jit.compile(std::vector<std::string>{}, named("none"), nullptr),
                    "[cpu_jit] none: no source to compile");
}

TEST_CASE("CpuJit runs kiln's short pass pipeline per unit, as a key of its own") {
  CpuJit& jit = CpuJit::instance();
  TempDir tmp;
  KernelCache cache(tmp.path());
  CpuCompileOptions kernel = named("saxpy");
  kernel.passes = kiln::runtime::CpuPasses::Kernel;
  const auto before = jit.stats();
  ScopedEnv env_debug("KILN_DEBUG", "1");
  std::string err = kiln::test::capture_stderr([&] {
    auto m = jit.compile(kSaxpyTanh, kernel, &cache);
    CHECK_FALSE(m->from_cache());
    check_saxpy(*m);
  });
  // The passes run apart from clang's front end, and the log says how long they took.
  CHECK_THAT(err, Contains("[cpu_jit] saxpy: cache miss, frontend ") &&
                      Contains(" ms, kernel passes ") && !Contains("kernel passes 0.00 ms"));
  // The same source under clang's pipeline is another object; each is then found.
  CHECK_FALSE(jit.compile(kSaxpyTanh, named("saxpy"), &cache)->from_cache());
  CHECK(jit.compile(kSaxpyTanh, kernel, &cache)->from_cache());
  CHECK(jit.compile(kSaxpyTanh, named("saxpy"), &cache)->from_cache());
  CHECK(jit.stats().clang_compiles == before.clang_compiles + 2);

  // Per unit: unit 0 and 2 under the short passes, unit 1 under clang's.
  const std::vector<std::string> units{
      "extern \"C\" int twice(int);\nextern \"C\" int plus_one(int);\n"
      "extern \"C\" int both(int x) { return plus_one(twice(x)); }\n",
      "extern \"C\" int twice(int x) { return 2 * x; }\n",
      "extern \"C\" int plus_one(int x) { int s = x; for (int i = 0; i < 3; ++i) s += i; "
      "return s - 2; }\n"};
  using kiln::runtime::CpuPasses;
  CpuCompileOptions mixed = named("mixed");
  mixed.unit_passes = {CpuPasses::Kernel, CpuPasses::Clang, CpuPasses::Kernel};
  CHECK(jit.compile(units, mixed, nullptr)->function<int(int)>("both")(20) == 41);
  mixed.unit_passes.pop_back();
  CHECK_THROWS_WITH(jit.compile(units, mixed, nullptr),
                    "[cpu_jit] mixed: unit_passes names 2 unit(s) for 3 source(s)");
}

TEST_CASE("CpuJit detects a corrupt cache entry and rebuilds it") {
  CpuJit& jit = CpuJit::instance();
  TempDir tmp;
  KernelCache cache(tmp.path());
  const std::string src = constant_source("answer", 42);
  jit.compile(src, named("answer"), &cache);
  REQUIRE(cache.stats().stores == 1);
  fs::path entry;
  for (const auto& e : fs::directory_iterator(tmp.path()))
    if (e.path().extension() == ".kc")
      entry = e.path();
  REQUIRE(fs::exists(entry));
  const std::string good = read_file(entry);

  auto corruptions = {good.substr(0, good.size() / 2), [&] {
                        std::string f = good;
                        f[f.size() - 17] ^= 0x01;
                        return f;
                      }()};
  int64_t corrupt = 0;
  for (const std::string& bad : corruptions) {
    kiln::test::write_file(entry, bad);
    const auto compiles = jit.stats().clang_compiles;
    auto m = jit.compile(src, named("answer"), &cache);
    CHECK_FALSE(m->from_cache());
    CHECK(cache.stats().corrupt == ++corrupt);
    CHECK(jit.stats().clang_compiles == compiles + 1);
    CHECK(m->function<int()>("answer")() == 42);
    CHECK(read_file(entry) == good); // rebuilt, byte for byte
    CHECK(jit.compile(src, named("answer"), &cache)->from_cache());
  }
}

TEST_CASE("CpuJit reports a compile error with clang's diagnostics and the dumped source") {
  const std::string src = "extern \"C\" int broken() { return undeclared_thing + 1; }\n";
  SECTION("dumped to the temp dir") {
    ScopedEnv no_dump("KILN_DUMP_DIR", std::nullopt);
    try {
      CpuJit::instance().compile(src, named("broken_kernel"), nullptr);
      FAIL("no CompileError");
    } catch (const CompileError& e) {
      CHECK_THAT(e.what(), StartsWith("[cpu_jit] failed to compile broken_kernel"));
      CHECK_THAT(e.what(), Contains("broken_kernel.cpp:1:34: error: use of undeclared "
                                    "identifier 'undeclared_thing'"));
      CHECK_THAT(e.log(), Contains("undeclared_thing"));
      REQUIRE_FALSE(e.source_path().empty());
      CHECK_THAT(e.what(), Contains(e.source_path()));
      CHECK(read_file(e.source_path()) == src);
      fs::remove(e.source_path());
    }
  }
  SECTION("dumped to KILN_DUMP_DIR") {
    TempDir dump;
    ScopedEnv env("KILN_DUMP_DIR", dump.path().string());
    try {
      CpuJit::instance().compile(src, named("broken_kernel"), nullptr);
      FAIL("no CompileError");
    } catch (const CompileError& e) {
      CHECK(e.source_path() == (dump.path() / "broken_kernel.cpp").string());
      CHECK(read_file(e.source_path()) == src);
    }
  }
}

TEST_CASE("CpuJit reports a bad flag, an unresolved symbol and dynamic initialisers") {
  TempDir dump;
  ScopedEnv env_dump("KILN_DUMP_DIR", dump.path().string());
  CpuJit& jit = CpuJit::instance();
  CpuCompileOptions bad_flag = named("flagged");
  bad_flag.extra_flags = {"-fno-such-flag"};
  CHECK_THROWS_WITH(jit.compile(constant_source("f", 1), bad_flag, nullptr),
                    StartsWith("[cpu_jit] failed to compile flagged") &&
                        Contains("unknown argument: '-fno-such-flag'"));

  const std::string unresolved =
      "extern \"C\" float kiln_no_such_function(float);\n"
      "extern \"C\" float g(float x) { return kiln_no_such_function(x) * 2; }\n";
  CHECK_THROWS_WITH(jit.compile(unresolved, named("unresolved"), nullptr),
                    StartsWith("[cpu_jit] failed to compile unresolved") &&
                        Contains("link error") && Contains("kiln_no_such_function"));

  const std::string dynamic_init = "static int compute() { volatile int v = 3; return v; }\n"
                                   "static int g_value = compute();\n"
                                   "extern \"C\" int get() { return g_value; }\n";
  CHECK_THROWS_WITH(jit.compile(dynamic_init, named("dyninit"), nullptr),
                    StartsWith("[cpu_jit] failed to compile dyninit") &&
                        Contains("dynamic initialisation"));

  CpuCompileOptions bad_level = named("levels");
  bad_level.opt_level = 7;
  CHECK_THROWS_WITH(jit.compile(constant_source("f", 1), bad_level, nullptr),
                    "[cpu_jit] levels: opt_level must be 0, 1, 2 or 3, got 7");
}

TEST_CASE("CpuModule::symbol names the missing symbol and the module") {
  auto m = CpuJit::instance().compile(constant_source("present", 5), named("lookup_mod"), nullptr);
  CHECK(m->function<int()>("present")() == 5);
  CHECK_THROWS_AS(m->symbol("absent"), kiln::Error);
  CHECK_THROWS_WITH(m->symbol("absent"),
                    "[cpu_jit] module lookup_mod has no symbol 'absent' (it defines: present)");
}

TEST_CASE("CpuJit keeps modules apart and frees them") {
  CpuJit& jit = CpuJit::instance();
  // The same symbol name in two live modules: each module resolves its own.
  auto one = jit.compile(constant_source("value", 1), named("one"), nullptr);
  auto two = jit.compile(constant_source("value", 2), named("two"), nullptr);
  CHECK(one->function<int()>("value")() == 1);
  CHECK(two->function<int()>("value")() == 2);
  one.reset();
  CHECK(two->function<int()>("value")() == 2);
  // Recompiling a freed module's source links again from scratch.
  for (int i = 0; i < 3; ++i) {
    auto again = jit.compile(constant_source("value", 1), named("one"), nullptr);
    CHECK(again->function<int()>("value")() == 1);
  }
}

TEST_CASE("CpuJit compiles on two threads at once") {
  CpuJit& jit = CpuJit::instance();
  TempDir tmp;
  KernelCache cache(tmp.path());
  std::vector<int> results(6, 0);
  std::vector<double> saxpy_errors(6, 1.0);
  std::vector<std::string> errors(2);
  auto work = [&](int t) {
    try {
      for (int k = 0; k < 3; ++k) {
        const int v = 100 * t + k;
        auto m = jit.compile(constant_source("v", v) + kSaxpyTanh,
                             named("thread" + std::to_string(t) + "_" + std::to_string(k)), &cache);
        results[t * 3 + k] = m->function<int()>("v")();
        saxpy_errors[t * 3 + k] = saxpy_error(*m);
      }
    } catch (const std::exception& e) {
      errors[t] = e.what();
    }
  };
  std::thread a(work, 0), b(work, 1);
  a.join();
  b.join();
  CHECK(errors[0].empty());
  CHECK(errors[1].empty());
  CHECK(results == std::vector<int>{0, 1, 2, 100, 101, 102});
  for (double err : saxpy_errors)
    CHECK(err < 1e-5);
  CHECK(cache.stats().stores == 6);
}

TEST_CASE("CpuJit dumps sources to KILN_DUMP_DIR and logs with KILN_DEBUG") {
  TempDir dump, cache_dir;
  KernelCache cache(cache_dir.path());
  ScopedEnv env_dump("KILN_DUMP_DIR", dump.path().string());
  ScopedEnv env_debug("KILN_DEBUG", "1");
  const std::string src = constant_source("logged", 9);
  std::string err = kiln::test::capture_stderr([&] {
    CpuJit::instance().compile(src, named("logged_kernel"), &cache);
    CpuJit::instance().compile(src, named("logged_kernel"), &cache);
  });
  CHECK(read_file(dump.path() / "logged_kernel.cpp") == src);
  CHECK_THAT(err, Contains("[cpu_jit] logged_kernel: cache miss, frontend+opt "));
  CHECK_THAT(err, Contains(" ms, codegen "));
  CHECK_THAT(err, Contains("[cpu_jit] logged_kernel: cache hit, load "));
}

TEST_CASE("CpuJit::compile without a cache argument uses the default cache") {
  TempDir tmp;
  ScopedEnv off("KILN_CACHE", std::nullopt);
  ScopedEnv dir("KILN_CACHE_DIR", tmp.path().string());
  // No other test touches the default cache, so this is its first use in the process.
  REQUIRE(KernelCache::default_cache().dir() == tmp.path());
  auto m = CpuJit::instance().compile(constant_source("dflt", 3), named("dflt"));
  CHECK(m->function<int()>("dflt")() == 3);
  CHECK(KernelCache::default_cache().stats().stores == 1);
  CHECK_FALSE(fs::is_empty(tmp.path()));
}

TEST_CASE("CpuJit describes the compiler and the host for cache keys") {
  CHECK_THAT(CpuJit::instance().compiler_id(), Contains("clang version 14"));
  // The code generator's own settings change the object code too.
  CHECK_THAT(CpuJit::instance().compiler_id(), Contains("codegen -disable-lsr"));
  CHECK_THAT(CpuJit::instance().target_id(), Contains(";+"));
}
