// Saving is atomic: a save that fails, or a process that dies while saving, never damages the
// checkpoint that was there before, and a failed save leaves no temporary file behind.

#include "io/safetensors.h"

#include "checkpoint_test_util.h"

#include <catch2/catch.hpp>

#include <csignal>
#include <filesystem>
#include <fstream>

#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

using Catch::Matchers::EndsWith;
using Catch::Matchers::StartsWith;
using kiln::HostTensor;
using kiln::test::error_of;
using kiln::test::read_file;
using kiln::test::ScratchDir;

namespace {

std::map<std::string, HostTensor> small_checkpoint() {
  return {{"w", HostTensor::of<float>({2}, {1.f, 2.f})}};
}

// 256 KiB of data: far more than the file-size limits the tests below set.
std::map<std::string, HostTensor> big_checkpoint() {
  return {{"w", HostTensor::of<double>({32768}, std::vector<double>(32768, 0.25))}};
}

// Runs `f` with the process's file size limit lowered to `limit` bytes and SIGXFSZ ignored, so
// a write past the limit fails with EFBIG instead of killing the process.
template <class F>
void with_file_size_limit(rlim_t limit, F&& f) {
  rlimit old{};
  REQUIRE(::getrlimit(RLIMIT_FSIZE, &old) == 0);
  auto* old_handler = std::signal(SIGXFSZ, SIG_IGN);
  rlimit lowered = old;
  lowered.rlim_cur = limit;
  REQUIRE(::setrlimit(RLIMIT_FSIZE, &lowered) == 0);
  try {
    f();
  } catch (...) {
    ::setrlimit(RLIMIT_FSIZE, &old);
    std::signal(SIGXFSZ, old_handler);
    throw;
  }
  ::setrlimit(RLIMIT_FSIZE, &old);
  std::signal(SIGXFSZ, old_handler);
}

} // namespace

TEST_CASE("atomic save: into a directory that does not exist") {
  ScratchDir dir("no-dir");
  const std::string path = dir.file("missing/ckpt.safetensors");
  const std::string msg = error_of([&] { kiln::save_safetensors(path, small_checkpoint()); });
  CHECK_THAT(msg, StartsWith("[checkpoint] " + path + ": cannot write: creating " +
                             dir.file("missing/.ckpt.safetensors.tmp-")));
  CHECK_THAT(msg, EndsWith(": No such file or directory"));
  CHECK(dir.entries().empty());
}

TEST_CASE("atomic save: a failed rename removes the temporary file") {
  ScratchDir dir("rename-fails");
  // The target is a directory, so everything up to the rename succeeds.
  const std::string path = dir.file("ckpt.safetensors");
  std::filesystem::create_directory(path);
  const std::string msg = error_of([&] { kiln::save_safetensors(path, small_checkpoint()); });
  CHECK_THAT(msg, StartsWith("[checkpoint] " + path + ": cannot write: renaming " +
                             dir.file(".ckpt.safetensors.tmp-")));
  CHECK_THAT(msg, EndsWith(" to " + path + ": Is a directory"));
  CHECK(dir.entries() == std::vector<std::string>{"ckpt.safetensors"});
  CHECK(std::filesystem::is_directory(path));
}

TEST_CASE("atomic save: a write that fails half-way keeps the previous checkpoint") {
  ScratchDir dir("write-fails");
  const std::string path = dir.file("ckpt.safetensors");
  kiln::save_safetensors(path, small_checkpoint());
  const std::string before = read_file(path);

  std::string msg;
  with_file_size_limit(
      4096, [&] { msg = error_of([&] { kiln::save_safetensors(path, big_checkpoint()); }); });
  CHECK_THAT(msg, StartsWith("[checkpoint] " + path + ": cannot write: writing " +
                             dir.file(".ckpt.safetensors.tmp-")));
  CHECK_THAT(msg, EndsWith(": File too large"));
  CHECK(read_file(path) == before);
  CHECK(dir.entries() == std::vector<std::string>{"ckpt.safetensors"});
  CHECK(kiln::load_safetensors(path).tensors.at("w").to_vector<float>() ==
        std::vector<float>{1.f, 2.f});
}

TEST_CASE("atomic save: a process killed while saving leaves the previous checkpoint intact") {
  ScratchDir dir("crash");
  const std::string path = dir.file("ckpt.safetensors");
  kiln::save_safetensors(path, small_checkpoint());
  const std::string before = read_file(path);

  // The child dies of SIGXFSZ in the middle of writing the data: a real crash, mid-save.
  const pid_t child = ::fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    std::signal(SIGXFSZ, SIG_DFL);
    const rlimit no_core{0, 0}, fsize{4096, 4096};
    ::setrlimit(RLIMIT_CORE, &no_core);
    ::setrlimit(RLIMIT_FSIZE, &fsize);
    try {
      kiln::save_safetensors(path, big_checkpoint());
    } catch (...) {
    }
    ::_exit(3);
  }
  int status = 0;
  REQUIRE(::waitpid(child, &status, 0) == child);
  REQUIRE(WIFSIGNALED(status));
  CHECK(WTERMSIG(status) == SIGXFSZ);

  CHECK(read_file(path) == before);
  // A crash cannot clean up; what it leaves is a partial temporary file, never the checkpoint.
  const std::vector<std::string> entries = dir.entries();
  REQUIRE(entries.size() == 2);
  CHECK_THAT(entries[0], StartsWith(".ckpt.safetensors.tmp-" + std::to_string(child) + "-"));
  CHECK(std::filesystem::file_size(dir.file(entries[0])) == 4096);
  CHECK(entries[1] == "ckpt.safetensors");
}

TEST_CASE("atomic save: a reader of the old file keeps the old bytes") {
  ScratchDir dir("reader");
  const std::string path = dir.file("ckpt.safetensors");
  kiln::save_safetensors(path, small_checkpoint());
  const std::string before = read_file(path);
  std::ifstream old_reader(path, std::ios::binary);
  kiln::save_safetensors(path, big_checkpoint());
  // Rename swaps the name to a new file; the old one is never written to.
  const std::string seen{std::istreambuf_iterator<char>(old_reader),
                         std::istreambuf_iterator<char>()};
  CHECK(seen == before);
  CHECK(kiln::load_safetensors(path).tensors.at("w").numel() == 32768);
}

TEST_CASE("atomic save: success leaves only the checkpoint, with umask permissions") {
  ScratchDir dir("success");
  const mode_t old_mask = ::umask(022);
  const auto old_cwd = std::filesystem::current_path();
  // A bare file name saves into the current directory.
  std::filesystem::current_path(dir.path());
  try {
    kiln::save_safetensors("ckpt.safetensors", small_checkpoint());
  } catch (...) {
    std::filesystem::current_path(old_cwd);
    ::umask(old_mask);
    throw;
  }
  std::filesystem::current_path(old_cwd);
  ::umask(old_mask);

  CHECK(dir.entries() == std::vector<std::string>{"ckpt.safetensors"});
  struct stat st {};
  REQUIRE(::stat(dir.file("ckpt.safetensors").c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0644);
  CHECK(kiln::load_safetensors(dir.file("ckpt.safetensors")).tensors.size() == 1);
}
