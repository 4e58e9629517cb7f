#pragma once
// Helpers of the aot tests: shell commands, scratch folders, float comparisons.

#include <Eigen/Core>

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace kiln::aot_test {

/** What a shell command printed (stdout and stderr together) and its exit status. */
struct CommandResult {
  int status = -1;
  std::string output;
};

/** Runs `command` with /bin/sh, capturing its output. */
CommandResult run_command(const std::string& command);

/** `s` quoted for /bin/sh. */
std::string shell_quote(const std::string& s);

/**
 * An empty folder under the system's temporary folder, unique to this process and `stem`,
 * removed with everything in it when the object goes (kept when KILN_KEEP_TEMP is set, to look
 * at what a failing test wrote). Move-only.
 */
class TempDir {
public:
  explicit TempDir(const std::string& stem);
  TempDir(TempDir&& other) noexcept : path_(std::move(other.path_)) { other.path_.clear(); }
  TempDir& operator=(TempDir&&) = delete;
  ~TempDir();

  const std::filesystem::path& path() const { return path_; }
  std::filesystem::path operator/(const std::string& name) const { return path_ / name; }

private:
  std::filesystem::path path_;
};

/**
 * `values` (row-major) as Executable::set_param takes a param of `dims`: [d0, rest], a vector as
 * a column, a scalar as 1x1.
 */
Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>
param_matrix(const std::vector<float>& values, const std::vector<int64_t>& dims);

/** The largest |got - want| over max(|want|) (1 if want is all zero); +inf on a size mismatch. */
double relative_difference(const std::vector<float>& got, const std::vector<float>& want);

} // namespace kiln::aot_test
