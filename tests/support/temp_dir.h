#pragma once
// A fresh directory under the system temp dir for one test case, removed when it goes out of
// scope. ctest runs test cases as parallel processes, so the name carries the process id (and a
// counter, for several directories in one process).

#include <atomic>
#include <filesystem>
#include <fstream>
#include <string>

#include <unistd.h>

namespace kiln::test {

class TempDir {
public:
  explicit TempDir(const std::string& tag = "test") {
    static std::atomic<int> counter{0};
    path_ = std::filesystem::temp_directory_path() /
            ("kiln-" + tag + "-" + std::to_string(::getpid()) + "-" + std::to_string(counter++));
    std::filesystem::remove_all(path_);
    std::filesystem::create_directories(path_);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }

  const std::filesystem::path& path() const { return path_; }

  /** The path of `name` inside the directory. */
  std::string file(const std::string& name) const { return (path_ / name).string(); }

  /** Writes `bytes` to `name` and returns its path. */
  std::string write(const std::string& name, const std::string& bytes) const {
    std::ofstream(file(name), std::ios::binary) << bytes;
    return file(name);
  }

private:
  std::filesystem::path path_;
};

} // namespace kiln::test
