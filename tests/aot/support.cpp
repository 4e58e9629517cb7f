#include "support.h"

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <limits>

namespace kiln::aot_test {

CommandResult run_command(const std::string& command) {
  CommandResult r;
  std::FILE* p = popen((command + " 2>&1").c_str(), "r");
  if (!p)
    return r;
  char buf[4096];
  for (size_t got; (got = std::fread(buf, 1, sizeof buf, p)) > 0;)
    r.output.append(buf, got);
  const int status = pclose(p);
  r.status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

std::string shell_quote(const std::string& s) {
  std::string q = "'";
  for (const char c : s)
    q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

TempDir::TempDir(const std::string& stem)
    : path_(std::filesystem::temp_directory_path() /
            ("kiln-" + stem + "-" + std::to_string(getpid()))) {
  std::filesystem::remove_all(path_);
  std::filesystem::create_directories(path_);
}

TempDir::~TempDir() {
  std::error_code ec;
  if (!path_.empty() && !std::getenv("KILN_KEEP_TEMP"))
    std::filesystem::remove_all(path_, ec);
}

double relative_difference(const std::vector<float>& got, const std::vector<float>& want) {
  if (got.size() != want.size())
    return std::numeric_limits<double>::infinity();
  double scale = 0, worst = 0;
  for (const float w : want)
    scale = std::max(scale, std::fabs(static_cast<double>(w)));
  if (scale == 0)
    scale = 1;
  for (size_t i = 0; i < got.size(); ++i) {
    const double d = std::fabs(static_cast<double>(got[i]) - static_cast<double>(want[i]));
    if (!std::isfinite(d))
      return std::numeric_limits<double>::infinity();
    worst = std::max(worst, d);
  }
  return worst / scale;
}

} // namespace kiln::aot_test

namespace kiln::aot_test {

Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>
param_matrix(const std::vector<float>& values, const std::vector<int64_t>& dims) {
  const auto n = static_cast<Eigen::Index>(values.size());
  const Eigen::Index rows = dims.empty() ? 1 : dims.size() == 1 ? n : dims[0];
  return Eigen::Map<const Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>>(
      values.data(), rows, rows == 0 ? 0 : n / rows);
}

} // namespace kiln::aot_test
