#pragma once
// Helpers for the checkpoint tests: a scratch directory per test case, whole-file reads, and
// hand-made safetensors bytes.

#include "base/error.h"

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include <unistd.h>

namespace kiln::test {

/** A fresh directory under the system temp dir, removed with everything in it at scope exit. */
class ScratchDir {
public:
  explicit ScratchDir(const std::string& tag)
      : path_(std::filesystem::temp_directory_path() /
              ("kiln-ckpt-" + tag + "-" + std::to_string(::getpid()))) {
    std::filesystem::remove_all(path_);
    std::filesystem::create_directories(path_);
  }
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;
  ~ScratchDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }

  const std::filesystem::path& path() const { return path_; }
  std::string file(const std::string& name) const { return (path_ / name).string(); }

  /** The names of the entries in the directory, sorted. */
  std::vector<std::string> entries() const {
    std::vector<std::string> out;
    for (const auto& e : std::filesystem::directory_iterator(path_))
      out.push_back(e.path().filename().string());
    std::sort(out.begin(), out.end());
    return out;
  }

private:
  std::filesystem::path path_;
};

/** The whole file at `path`; empty when it cannot be read. */
inline std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

/** Writes `bytes` to a fresh file at `path`, replacing any file there. */
inline void write_file(const std::string& path, const std::string& bytes) {
  // Truncating a file and writing it again makes ext4 flush it to disk at close; a new file
  // does not, which keeps the tests that write hundreds of files fast.
  std::filesystem::remove(path);
  std::ofstream(path, std::ios::binary) << bytes;
}

/** The 8-byte little-endian size prefix of a header of n bytes. */
inline std::string size_prefix(uint64_t n) {
  std::string out(8, '\0');
  for (int i = 0; i < 8; ++i)
    out[i] = static_cast<char>(n >> (8 * i));
  return out;
}

/** A safetensors file: the size prefix, `header` as it is, then `data`. */
inline std::string safetensors_file(const std::string& header, const std::string& data = "") {
  return size_prefix(header.size()) + header + data;
}

/** The raw little-endian bytes of `values`. */
template <class T>
std::string raw_bytes(const std::vector<T>& values) {
  std::string out(values.size() * sizeof(T), '\0');
  if (!values.empty())
    std::memcpy(out.data(), values.data(), out.size());
  return out;
}

/** The message of the kiln::DataError that `f` throws, or a note that it threw none. */
template <class F>
std::string data_error_of(F&& f) {
  try {
    f();
  } catch (const DataError& e) {
    return e.what();
  }
  return "<no kiln::DataError thrown>";
}

/** The message of the kiln::Error (any kind) that `f` throws, or a note that it threw none. */
template <class F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "<no kiln::Error thrown>";
}

} // namespace kiln::test
