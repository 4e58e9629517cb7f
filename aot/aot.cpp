#include "aot/aot.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>

#include "aot/aot_model.h"
#include "base/error.h"

namespace kiln::aot {

namespace {

/**
 * Writes `text` to `path` through a temporary file renamed over it, so that a build that runs
 * the generator while another reads the files never sees half a file. Always writes (even the
 * same bytes): the build re-runs a generator whose outputs are older than it.
 */
void write_file(const std::filesystem::path& path, const std::string& text) {
  const std::filesystem::path tmp = path.string() + ".tmp";
  std::FILE* f = std::fopen(tmp.c_str(), "wb");
  if (!f)
    throw Error(str("[aot] ", path.string(), ": cannot write: ", std::strerror(errno)));
  const bool ok = std::fwrite(text.data(), 1, text.size(), f) == text.size();
  const int err = errno;
  if (std::fclose(f) != 0 || !ok) {
    std::remove(tmp.c_str());
    throw Error(str("[aot] ", path.string(), ": cannot write: ", std::strerror(ok ? errno : err)));
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec) {
    std::remove(tmp.c_str());
    throw Error(str("[aot] ", path.string(), ": cannot write: ", ec.message()));
  }
}

} // namespace

AotFiles emit(const AotSpec& spec) {
  const detail::AotModel m = detail::build_model(spec);
  const std::filesystem::path dir = spec.out_dir.empty() ? "." : spec.out_dir;
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec)
    throw Error(str("[aot] ", dir.string(), ": cannot create the output folder: ", ec.message()));
  AotFiles files;
  files.header = (dir / (m.name + ".h")).string();
  files.source = (dir / (m.name + ".cpp")).string();
  write_file(files.header, detail::render_header(m));
  write_file(files.source, detail::render_source(m));
  if (m.cuda_forward) {
    files.cuda = (dir / (m.name + ".cu")).string();
    write_file(files.cuda, detail::render_cuda_source(m));
  }
  return files;
}

} // namespace kiln::aot
