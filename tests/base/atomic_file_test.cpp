// base/atomic_file.h: a file is replaced whole or not at all, writers never share a temporary
// file, and failures name the file and leave nothing behind.

#include <catch2/catch.hpp>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>
#include <vector>

#include "base/atomic_file.h"
#include "base/error.h"
#include "tests/support/temp_dir.h"

#include <sys/wait.h>
#include <unistd.h>

namespace fs = std::filesystem;
using Catch::Matchers::StartsWith;
using kiln::AtomicFile;

namespace {
std::string read(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}
size_t entries(const fs::path& dir) {
  return static_cast<size_t>(std::distance(fs::directory_iterator(dir), fs::directory_iterator()));
}
} // namespace

TEST_CASE("an atomic file appears whole at commit and replaces the old one") {
  const kiln::test::TempDir dir("atomic");
  const std::string path = dir.write("f.txt", "old");
  {
    AtomicFile f(path, {.prefix = "[test] "});
    f.write("new ");
    CHECK(read(path) == "old"); // nothing visible before the commit
    CHECK(fs::exists(f.temp_path()));
    CHECK_THAT(fs::path(f.temp_path()).filename().string(), StartsWith(".f.txt.tmp-"));
    f.write("text");
    f.commit();
  }
  CHECK(read(path) == "new text");
  CHECK(entries(dir.path()) == 1);
}

TEST_CASE("an atomic file that is not committed leaves the directory as it was") {
  const kiln::test::TempDir dir("atomic-abort");
  const std::string path = dir.write("f.txt", "old");
  {
    AtomicFile f(path, {.prefix = "[test] "});
    f.write("half");
  }
  CHECK(read(path) == "old");
  CHECK(entries(dir.path()) == 1);
}

TEST_CASE("concurrent atomic writers of one file each write their own temporary file") {
  const kiln::test::TempDir dir("atomic-race");
  const std::string path = dir.file("f.txt");
  std::vector<std::thread> writers;
  for (int t = 0; t < 8; ++t)
    writers.emplace_back([&, t] {
      for (int i = 0; i < 20; ++i)
        kiln::write_file_atomically(path, std::string(4096, static_cast<char>('a' + t)),
                                    {.prefix = "[test] ", .sync = false});
    });
  for (std::thread& w : writers)
    w.join();
  const std::string text = read(path);
  REQUIRE(text.size() == 4096);
  CHECK(text == std::string(4096, text[0])); // one writer's bytes, never a mix
  CHECK(entries(dir.path()) == 1);
}

TEST_CASE("an atomic file that cannot be created names the file and the step") {
  const kiln::test::TempDir dir("atomic-error");
  const std::string path = dir.file("missing/f.txt");
  try {
    AtomicFile f(path, {.prefix = "[test] "});
    FAIL("no error");
  } catch (const kiln::Error& e) {
    CHECK_THAT(e.what(), StartsWith("[test] " + path + ": cannot write: creating " +
                                    dir.file("missing/.f.txt.tmp-")));
    CHECK_THAT(e.what(), Catch::Matchers::EndsWith(": No such file or directory"));
  }
}

namespace {
/** A pid that ran and is gone: a child that exited and was reaped. */
std::string dead_pid() {
  const pid_t child = ::fork();
  if (child == 0)
    ::_exit(0);
  ::waitpid(child, nullptr, 0);
  return std::to_string(child);
}
} // namespace

TEST_CASE("a commit removes the temporary files that killed writers of the same file left") {
  const kiln::test::TempDir dir("atomic-stale");
  const std::string dead = dead_pid(), alive = std::to_string(::getppid());
  const std::vector<std::string> stale = {".f.txt.tmp-" + dead + "-0",
                                          ".f.txt.tmp-" + dead + "-17"};
  const std::vector<std::string> kept = {
      ".f.txt.tmp-" + alive + "-0", // its writer may still be at work
      ".g.txt.tmp-" + dead + "-0",  // another file's
      ".f.txt.tmp-" + dead,         // not a temporary file's name
      ".f.txt.tmp-" + dead + "-x",  "f.txt.tmp-" + dead + "-0", "notes.txt"};
  for (const std::string& f : stale)
    dir.write(f, "half");
  for (const std::string& f : kept)
    dir.write(f, "keep");
  kiln::write_file_atomically(dir.file("f.txt"), "whole", {.prefix = "[test] ", .sync = false});
  for (const std::string& f : stale)
    CHECK_FALSE(fs::exists(dir.file(f)));
  for (const std::string& f : kept)
    CHECK(fs::exists(dir.file(f)));
  CHECK(read(dir.file("f.txt")) == "whole");
}

TEST_CASE("remove_stale_temporaries without a name removes every dead writer's files") {
  const kiln::test::TempDir dir("atomic-stale-all");
  const std::string dead = dead_pid();
  dir.write(".a.tmp-" + dead + "-0", "half");
  dir.write(".b.kc.tmp-" + dead + "-4", "half");
  dir.write(".c.tmp-" + std::to_string(::getpid()) + "-0", "ours, being written");
  CHECK(kiln::remove_stale_temporaries(dir.path().string()) == 2);
  CHECK(entries(dir.path()) == 1);
  CHECK(kiln::remove_stale_temporaries(dir.file("missing")) == 0);

  // In the same pass, the caller sees every entry that stays and none that goes.
  dir.write(".d.tmp-" + dead + "-1", "half");
  dir.write("e.kc", "an entry");
  std::vector<std::string> kept;
  CHECK(kiln::remove_stale_temporaries(dir.path().string(), {}, -1,
                                       [&](const char* name) { kept.push_back(name); }) == 1);
  std::sort(kept.begin(), kept.end());
  CHECK(kept ==
        std::vector<std::string>{".", "..", ".c.tmp-" + std::to_string(::getpid()) + "-0", "e.kc"});
}

TEST_CASE("an atomic file told not to sweep leaves dead writers' temporary files to its caller") {
  const kiln::test::TempDir dir("atomic-nosweep");
  const std::string stale = ".f.txt.tmp-" + dead_pid() + "-0";
  dir.write(stale, "half");
  kiln::write_file_atomically(dir.file("f.txt"), "whole",
                              {.prefix = "[test] ", .sync = false, .sweep = false});
  CHECK(read(dir.file("f.txt")) == "whole");
  CHECK(fs::exists(dir.file(stale)));
}
