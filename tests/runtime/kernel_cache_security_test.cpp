// The kernel cache holds code that kiln runs, so it trusts only a directory of this user's that
// no one else can write, and only this user's regular files in it: a directory writable by others
// stays empty and the run says why once, planted entries (another user's, group-writable, links,
// FIFOs, directories) are refused without hanging, and an entry must hold its whole key.

#include "runtime/kernel_cache.h"

#include "cpu/jit_test_util.h"

#include <catch2/catch.hpp>

#include <chrono>

#include "tests/support/skip.h"
#include "tests/support/text.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

using kiln::runtime::KernelCache;
using kiln::runtime::make_cache_key;
using kiln::test::cache_files_in;
using kiln::test::capture_stderr;
using kiln::test::count;
using kiln::test::read_file;
using kiln::test::ScopedEnv;
using kiln::test::TempDir;
using kiln::test::write_file;
namespace fs = std::filesystem;

namespace {

constexpr uid_t kNobody = 65534;

const std::string kKey = make_cache_key("int f() { return 1; }", "-O2", "clang 14", "x86-64");

} // namespace

TEST_CASE("a cache directory writable by others stays empty and the run says why, once") {
  TempDir tmp;
  const fs::path dir = tmp.path() / "shared";
  fs::create_directory(dir);
  ::chmod(dir.c_str(), 0777);
  KernelCache cache(dir);
  ScopedEnv debug("KILN_DEBUG", std::nullopt); // said without KILN_DEBUG
  const std::string err = capture_stderr([&] {
    cache.store(kKey, "object code");
    CHECK_FALSE(cache.load(kKey).has_value());
    cache.store(kKey, "object code");
  });
  CHECK(cache_files_in(dir) == 0);
  CHECK(err == "[kernel_cache] " + dir.string() +
                   ": not used: it is writable by group or others (mode 0777); kernels are "
                   "compiled without the cache (make the directory yours and not writable by "
                   "others, e.g. chmod go-w, or set KILN_CACHE_DIR)\n");
  CHECK(cache.refusal() == "it is writable by group or others (mode 0777)");
  CHECK(cache.stats().stores == 0);
  CHECK(cache.stats().store_failures == 2);
}

TEST_CASE("an entry planted in a directory writable by others is never loaded") {
  TempDir tmp;
  {
    KernelCache mine(tmp.path());
    mine.store(kKey, "good code");
  }
  ::chmod(tmp.path().c_str(), 0775); // group-writable: someone else may have replaced it
  KernelCache cache(tmp.path());
  std::string err = capture_stderr([&] { CHECK_FALSE(cache.load(kKey).has_value()); });
  CHECK(count(err, "not used: it is writable by group or others (mode 0775)") == 1);
  CHECK(cache_files_in(tmp.path()) == 1); // refused, not touched
}

TEST_CASE("a cache directory of another user is not used") {
  TempDir tmp;
  fs::path dir;
  if (::geteuid() == 0) {
    dir = tmp.path() / "theirs";
    fs::create_directory(dir);
    REQUIRE(::chown(dir.c_str(), kNobody, kNobody) == 0);
  } else {
    dir = "/"; // root's
  }
  KernelCache cache(dir);
  const std::string err = capture_stderr([&] {
    cache.store(kKey, "object code");
    CHECK_FALSE(cache.load(kKey).has_value());
  });
  const std::string owner = std::to_string(::geteuid() == 0 ? kNobody : 0);
  CHECK(cache.refusal() == "it is owned by uid " + owner + ", not by this user (uid " +
                               std::to_string(::geteuid()) + ")");
  CHECK(count(err, "[kernel_cache] " + dir.string() + ": not used: it is owned by uid") == 1);
  if (::geteuid() == 0)
    CHECK(cache_files_in(dir) == 0);
}

TEST_CASE("the cache creates a missing directory for this user only (mode 0700)") {
  TempDir tmp;
  const fs::path dir = tmp.path() / "a" / "kiln";
  KernelCache cache(dir);
  cache.store(kKey, "object code");
  struct stat st {};
  REQUIRE(::stat(dir.c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0700);
  CHECK(cache.load(kKey) == std::optional<std::string>("object code"));
}

TEST_CASE("entries that are not this user's regular files are refused, never waited on") {
  TempDir tmp;
  KernelCache cache(tmp.path());
  const fs::path entry = cache.entry_path(kKey);
  std::string why;
  SECTION("a FIFO") {
    REQUIRE(::mkfifo(entry.c_str(), 0600) == 0);
    why = "not a regular file";
  }
  SECTION("a directory") {
    fs::create_directory(entry);
    why = "not a regular file";
  }
  SECTION("a symbolic link to a good entry") {
    KernelCache other(tmp.path() / "other");
    other.store(kKey, "object code");
    fs::create_symlink(other.entry_path(kKey), entry);
    why = "a symbolic link";
  }
  SECTION("a group-writable file") {
    cache.store(kKey, "object code");
    ::chmod(entry.c_str(), 0664);
    why = "writable by group or others (mode 0664)";
  }
  SECTION("a file past 1 GiB, which would be read into memory") {
    cache.store(kKey, "object code");
    const auto size = (uintmax_t{1} << 30) + 1; // sparse: no disk is used
    fs::resize_file(entry, size);
    why = "too large (" + std::to_string(size) + " bytes)";
  }
  ScopedEnv debug("KILN_DEBUG", "1");
  const std::string err = capture_stderr([&] { CHECK_FALSE(cache.load(kKey).has_value()); });
  CHECK(err == "[kernel_cache] " + entry.string() + ": entry refused (" + why + "), removed\n");
  CHECK(cache.stats().corrupt == 1);
  CHECK_FALSE(fs::exists(fs::symlink_status(entry)));
  // The next compile stores a good entry in its place.
  cache.store(kKey, "object code");
  CHECK(cache.load(kKey) == std::optional<std::string>("object code"));
}

TEST_CASE("an entry owned by another user is refused") {
  if (::geteuid() != 0)
    KILN_SKIP("only root can give a file to another user");
  TempDir tmp;
  KernelCache cache(tmp.path());
  cache.store(kKey, "object code");
  REQUIRE(::chown(cache.entry_path(kKey).c_str(), kNobody, kNobody) == 0);
  CHECK_FALSE(cache.load(kKey).has_value());
  CHECK(cache.stats().corrupt == 1);
  CHECK_FALSE(fs::exists(cache.entry_path(kKey)));
}

TEST_CASE("an entry holds its whole key: an entry for another key under this name is refused") {
  TempDir tmp;
  KernelCache cache(tmp.path());
  const std::string other = make_cache_key("int f() { return 2; }", "-O2", "clang 14", "x86-64");
  cache.store(other, "code of other");
  // As if the two keys' names collided: a whole, well-formed entry, checksum and all.
  fs::rename(cache.entry_path(other), cache.entry_path(kKey));
  CHECK(read_file(cache.entry_path(kKey)).find(other) != std::string::npos);
  CHECK_FALSE(cache.load(kKey).has_value());
  CHECK(cache.stats().corrupt == 1);
}

TEST_CASE("the cache removes the temporary files of killed writers on its first store") {
  TempDir tmp;
  const pid_t child = ::fork();
  if (child == 0)
    ::_exit(0);
  ::waitpid(child, nullptr, 0); // a pid that no longer runs
  const std::string dead = std::to_string(child);
  write_file(tmp.path() / (".abc.kc.tmp-" + dead + "-3"), "half an entry");
  write_file(tmp.path() / (".abc.kc.tmp-" + std::to_string(::getppid()) + "-3"), "being written");
  KernelCache cache(tmp.path());
  // Loads leave the directory alone: reading it whole would delay every process's first kernel.
  CHECK_FALSE(cache.load(kKey).has_value());
  CHECK(fs::exists(tmp.path() / (".abc.kc.tmp-" + dead + "-3")));
  cache.store(kKey, "object code");
  CHECK_FALSE(fs::exists(tmp.path() / (".abc.kc.tmp-" + dead + "-3")));
  CHECK(fs::exists(tmp.path() / (".abc.kc.tmp-" + std::to_string(::getppid()) + "-3")));

  // A process that stores within ten minutes of the last sweep does not read the directory
  // again; after that, its first store does.
  write_file(tmp.path() / (".def.kc.tmp-" + dead + "-1"), "half an entry");
  {
    KernelCache next(tmp.path());
    next.store("another key", "more code");
  }
  CHECK(fs::exists(tmp.path() / (".def.kc.tmp-" + dead + "-1")));
  fs::last_write_time(tmp.path() / ".swept",
                      fs::file_time_type::clock::now() - std::chrono::minutes(11));
  KernelCache later(tmp.path());
  later.store("a third key", "code");
  CHECK_FALSE(fs::exists(tmp.path() / (".def.kc.tmp-" + dead + "-1")));
}
