#pragma once
// Helpers shared by the JIT and kernel-cache tests: scratch directories, stderr capture and
// environment variables that restore themselves.

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <filesystem>

#include "tests/support/temp_dir.h"
#include <fstream>
#include <iterator>
#include <optional>
#include <string>
#include <unistd.h>

namespace kiln::test {

/** Sets (or with nullopt, unsets) an environment variable for the scope, then restores it. */
class ScopedEnv {
public:
  ScopedEnv(const char* name, std::optional<std::string> value) : name_(name) {
    if (const char* old = std::getenv(name))
      old_ = old;
    if (value)
      ::setenv(name, value->c_str(), 1);
    else
      ::unsetenv(name);
  }
  ~ScopedEnv() {
    if (old_)
      ::setenv(name_, old_->c_str(), 1);
    else
      ::unsetenv(name_);
  }
  ScopedEnv(const ScopedEnv&) = delete;
  ScopedEnv& operator=(const ScopedEnv&) = delete;

private:
  const char* name_;
  std::optional<std::string> old_;
};

/** Whole file as bytes ("" when it cannot be read). */
inline std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

/** Replaces the file's contents with `bytes`. */
inline void write_file(const std::filesystem::path& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << bytes;
}

/** Runs `fn` with file descriptor 2 redirected to a file and returns what was written to it. */
template <class Fn>
std::string capture_stderr(Fn&& fn) {
  TempDir dir;
  const std::filesystem::path file = dir.path() / "stderr.txt";
  std::fflush(stderr);
  int saved = ::dup(2);
  std::FILE* sink = std::fopen(file.c_str(), "w");
  ::dup2(::fileno(sink), 2);
  struct Restore {
    int saved;
    std::FILE* sink;
    ~Restore() {
      std::fflush(stderr);
      ::dup2(saved, 2);
      ::close(saved);
      std::fclose(sink);
    }
  };
  {
    Restore restore{saved, sink};
    fn();
  }
  return read_file(file);
}

/** The files in kernel cache directory `dir`, but the ".swept" file that dates its sweeps. */
inline size_t cache_files_in(const std::filesystem::path& dir) {
  size_t n = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir))
    n += e.path().filename() != ".swept";
  return n;
}

} // namespace kiln::test
