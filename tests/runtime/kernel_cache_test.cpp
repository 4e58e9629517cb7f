#include "runtime/kernel_cache.h"

#include "base/error.h"
#include "cpu/jit_test_util.h"

#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

using kiln::runtime::KernelCache;
using kiln::runtime::make_cache_key;
using kiln::runtime::xxh3_128_hex;
using kiln::test::cache_files_in;
using kiln::test::read_file;
using kiln::test::ScopedEnv;
using kiln::test::TempDir;
using kiln::test::write_file;
namespace fs = std::filesystem;

namespace {

// Bytes that include NULs and high bytes, so nothing treats the payload as a C string.
std::string payload(size_t n, int seed) {
  std::string s(n, '\0');
  for (size_t i = 0; i < n; ++i)
    s[i] = static_cast<char>((i * 131 + seed * 7) & 0xff);
  return s;
}

} // namespace

TEST_CASE("make_cache_key holds every part whole and changes with every part") {
  const std::string k = make_cache_key("src", "-O3", "clang 14", "icelake");
  for (const char* part : {"src", "-O3", "clang 14", "icelake"})
    CHECK(k.find(part) != std::string::npos);
  CHECK(make_cache_key("src", "-O3", "clang 14", "icelake") == k);
  CHECK(make_cache_key("src2", "-O3", "clang 14", "icelake") != k);
  CHECK(make_cache_key("src", "-O2", "clang 14", "icelake") != k);
  CHECK(make_cache_key("src", "-O3", "clang 15", "icelake") != k);
  CHECK(make_cache_key("src", "-O3", "clang 14", "skylake") != k);
  // The same bytes split differently between parts must not collide.
  CHECK(make_cache_key("ab", "c", "", "") != make_cache_key("a", "bc", "", ""));
}

TEST_CASE("entries are named by the XXH3-128 of their key") {
  // XXH3-128 of the empty input, from xxHash's own test vectors.
  CHECK(xxh3_128_hex("") == "99aa06d3014798d86001c324468d497f");
  const std::string k = make_cache_key("src", "-O3", "clang 14", "icelake");
  KernelCache cache("/nowhere");
  CHECK(cache.entry_path(k) == fs::path("/nowhere") / (xxh3_128_hex(k) + ".kc"));
  CHECK(xxh3_128_hex(k).find_first_not_of("0123456789abcdef") == std::string::npos);
  CHECK(xxh3_128_hex(k).size() == 32);
}

TEST_CASE("KernelCache stores and loads bytes, counting hits and misses") {
  TempDir tmp;
  KernelCache cache(tmp.path() / "sub" / "dir");
  CHECK_FALSE(cache.load("k1").has_value());
  const std::string bytes = payload(5000, 1);
  cache.store("k1", bytes);
  auto got = cache.load("k1");
  REQUIRE(got.has_value());
  CHECK(*got == bytes);
  CHECK(fs::exists(cache.entry_path("k1")));

  cache.store("k1", "replaced");
  CHECK(cache.load("k1") == std::optional<std::string>("replaced"));
  cache.store("empty", "");
  CHECK(cache.load("empty") == std::optional<std::string>(""));

  auto s = cache.stats();
  CHECK(s.hits == 3);
  CHECK(s.misses == 1);
  CHECK(s.corrupt == 0);
  CHECK(s.stores == 3);
  CHECK(s.store_failures == 0);
}

TEST_CASE("KernelCache hashes keys that are not plain file names") {
  TempDir tmp;
  KernelCache cache(tmp.path());
  const std::string odd = "../a key/with spaces:" + std::string(300, 'x');
  CHECK(cache.entry_path(odd).parent_path() == tmp.path());
  CHECK(cache.entry_path(odd).filename().string().size() < 64);
  cache.store(odd, "odd");
  CHECK(cache.load(odd) == std::optional<std::string>("odd"));
  CHECK(cache.entry_path("plain_key-1").filename() == "plain_key-1.kc");
}

TEST_CASE("KernelCache store leaves no temporary files and concurrent stores are atomic") {
  TempDir tmp;
  KernelCache cache(tmp.path());
  const std::string a = payload(200000, 1), b = payload(150000, 2);
  std::atomic<bool> stop{false};
  std::atomic<int> bad{0}, seen{0};
  std::vector<std::thread> threads;
  for (int w = 0; w < 2; ++w)
    threads.emplace_back([&, w] {
      for (int i = 0; i < 40; ++i)
        cache.store("shared", w == 0 ? a : b);
    });
  threads.emplace_back([&] {
    while (!stop) {
      auto got = cache.load("shared");
      if (!got)
        continue;
      ++seen;
      if (*got != a && *got != b)
        ++bad;
    }
  });
  threads[0].join();
  threads[1].join();
  stop = true;
  threads[2].join();

  CHECK(bad == 0);
  CHECK(cache.stats().corrupt == 0);
  CHECK(cache.stats().stores == 80);
  auto last = cache.load("shared");
  REQUIRE(last.has_value());
  CHECK((*last == a || *last == b));
  CHECK(cache_files_in(tmp.path()) == 1);
}

TEST_CASE("KernelCache detects, counts and removes corrupt entries") {
  TempDir tmp;
  KernelCache cache(tmp.path());
  const std::string bytes = payload(1000, 3);
  const fs::path path = cache.entry_path("key");

  using Corrupt = std::string (*)(std::string);
  const std::vector<std::pair<const char*, Corrupt>> cases = {
      {"truncated payload", [](std::string f) { return f.substr(0, f.size() - 10); }},
      {"truncated header", [](std::string f) { return f.substr(0, 12); }},
      {"empty file", [](std::string) { return std::string(); }},
      {"flipped payload byte",
       [](std::string f) {
         f[f.size() - 100] ^= 0x40;
         return f;
       }},
      {"bad magic",
       [](std::string f) {
         f[0] = 'X';
         return f;
       }},
      {"unknown version",
       [](std::string f) {
         f[8] = 99;
         return f;
       }},
      {"huge payload length",
       [](std::string f) {
         f[23] = static_cast<char>(0xff);
         return f;
       }},
      {"extra trailing bytes", [](std::string f) { return f + "junk"; }},
  };
  int64_t expected_corrupt = 0;
  for (const auto& [what, corrupt] : cases) {
    INFO(what);
    cache.store("key", bytes);
    write_file(path, corrupt(read_file(path)));
    CHECK_FALSE(cache.load("key").has_value());
    CHECK(cache.stats().corrupt == ++expected_corrupt);
    CHECK_FALSE(fs::exists(path));
  }
  // After a rebuild the entry is trusted again.
  cache.store("key", bytes);
  CHECK(cache.load("key") == std::optional<std::string>(bytes));
}

TEST_CASE("KernelCache rejects an entry whose stored key differs") {
  TempDir tmp;
  KernelCache cache(tmp.path());
  cache.store("key_a", "payload of a");
  fs::copy_file(cache.entry_path("key_a"), cache.entry_path("key_b"));
  CHECK_FALSE(cache.load("key_b").has_value());
  CHECK(cache.stats().corrupt == 1);
  CHECK_FALSE(fs::exists(cache.entry_path("key_b")));
  CHECK(cache.load("key_a") == std::optional<std::string>("payload of a"));
}

TEST_CASE("KernelCache in a directory that cannot be created works uncached and warns once") {
  TempDir tmp;
  write_file(tmp.path() / "a_file", "not a directory");
  const fs::path dir = tmp.path() / "a_file" / "cache";
  KernelCache cache(dir);
  ScopedEnv debug("KILN_DEBUG", "1");
  std::string err = kiln::test::capture_stderr([&] {
    CHECK_NOTHROW(cache.store("k", "bytes"));
    CHECK_NOTHROW(cache.store("k2", "bytes"));
  });
  CHECK_FALSE(cache.load("k").has_value());
  CHECK(cache.stats().store_failures == 2);
  CHECK(cache.stats().stores == 0);
  CHECK(err.find("[kernel_cache] " + dir.string() + ": cannot create the directory") == 0);
  CHECK(err.find("kernels will not be cached") != std::string::npos);
  // Once only.
  CHECK(err.find("[kernel_cache]", 1) == std::string::npos);
}

TEST_CASE("KernelCache stays silent about an unwritable dir without KILN_DEBUG") {
  TempDir tmp;
  write_file(tmp.path() / "a_file", "x");
  KernelCache cache(tmp.path() / "a_file");
  ScopedEnv debug("KILN_DEBUG", std::nullopt);
  std::string err = kiln::test::capture_stderr([&] { cache.store("k", "bytes"); });
  CHECK(err.empty());
  CHECK(cache.stats().store_failures == 1);
}

TEST_CASE("A KernelCache with an empty path is disabled") {
  KernelCache cache{fs::path()};
  CHECK_FALSE(cache.enabled());
  cache.store("k", "bytes");
  CHECK_FALSE(cache.load("k").has_value());
  CHECK(cache.stats().stores == 0);
  CHECK(cache.stats().misses == 1);
}

TEST_CASE("KernelCache::default_dir follows the environment") {
  ScopedEnv off("KILN_CACHE", std::nullopt);
  ScopedEnv dir("KILN_CACHE_DIR", "/some/cache");
  ScopedEnv xdg("XDG_CACHE_HOME", "/xdg");
  ScopedEnv home("HOME", "/home/someone");
  CHECK(KernelCache::default_dir() == fs::path("/some/cache"));
  {
    ScopedEnv no_dir("KILN_CACHE_DIR", std::nullopt);
    CHECK(KernelCache::default_dir() == fs::path("/xdg/kiln"));
    ScopedEnv no_xdg("XDG_CACHE_HOME", std::nullopt);
    CHECK(KernelCache::default_dir() == fs::path("/home/someone/.cache/kiln"));
  }
  {
    // No shared fallback: a directory named for this user, which the cache creates mode 0700.
    ScopedEnv no_dir("KILN_CACHE_DIR", std::nullopt);
    ScopedEnv no_xdg("XDG_CACHE_HOME", std::nullopt);
    ScopedEnv no_home("HOME", std::nullopt);
    CHECK(KernelCache::default_dir() ==
          fs::temp_directory_path() / ("kiln-cache-" + std::to_string(::geteuid())));
  }
  ScopedEnv disabled("KILN_CACHE", "0");
  CHECK(KernelCache::default_dir().empty());
}

TEST_CASE("KernelCache keeps its entries under its size bound, the least recently used first") {
  TempDir tmp;
  KernelCache cache(tmp.path(), 100000);
  const std::string p = payload(25000, 1);
  for (const char* k : {"k0", "k1", "k2"})
    cache.store(k, p);
  CHECK(cache.stats().evicted == 0);
  // k0 stored first but read last; k1 is then the least recently used, k2 the next.
  const auto now = fs::file_time_type::clock::now();
  fs::last_write_time(cache.entry_path("k0"), now - std::chrono::hours(3));
  fs::last_write_time(cache.entry_path("k1"), now - std::chrono::hours(2));
  fs::last_write_time(cache.entry_path("k2"), now - std::chrono::hours(1));
  CHECK(cache.load("k0") == p);
  cache.store("k3", p); // past 100,000 bytes: down to 90,000, oldest first
  CHECK(cache.stats().evicted == 1);
  CHECK_FALSE(fs::exists(cache.entry_path("k1")));
  for (const char* k : {"k0", "k2", "k3"})
    CHECK(cache.load(k) == p);
  int64_t total = 0;
  for (const auto& e : fs::directory_iterator(tmp.path()))
    total += static_cast<int64_t>(e.file_size());
  CHECK(total <= 90000);
  // An entry larger than the bound stays while it is the one just stored.
  cache.store("big", payload(150000, 2));
  CHECK(cache.load("big") == payload(150000, 2));
  CHECK(cache.stats().evicted == 4);
}

TEST_CASE("KernelCache without a size bound keeps every entry") {
  TempDir tmp;
  KernelCache cache(tmp.path(), 0);
  for (int i = 0; i < 20; ++i)
    cache.store("k" + std::to_string(i), payload(10000, i));
  CHECK(cache.stats().evicted == 0);
  CHECK(cache_files_in(tmp.path()) == 20);
  CHECK_THROWS_AS(KernelCache(tmp.path(), -1), kiln::Error);
}

TEST_CASE("KernelCache::default_max_bytes follows KILN_CACHE_MAX_MB") {
  {
    ScopedEnv unset("KILN_CACHE_MAX_MB", std::nullopt);
    CHECK(KernelCache::default_max_bytes() == KernelCache::kDefaultMaxBytes);
  }
  {
    ScopedEnv mb("KILN_CACHE_MAX_MB", "512");
    CHECK(KernelCache::default_max_bytes() == int64_t{512} << 20);
  }
  {
    ScopedEnv none("KILN_CACHE_MAX_MB", "0");
    CHECK(KernelCache::default_max_bytes() == 0);
  }
  for (const char* bad : {"1.5", "-3", "lots", "12MB"}) {
    ScopedEnv mb("KILN_CACHE_MAX_MB", bad);
    CHECK_THROWS_WITH(KernelCache::default_max_bytes(),
                      Catch::Contains("KILN_CACHE_MAX_MB") && Catch::Contains(bad));
  }
}
