#include "aot/aot.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>

#include "aot/aot_model.h"
#include "base/atomic_file.h"
#include "base/error.h"

namespace kiln::aot {

namespace {

/**
 * Writes `text` to `path` through an atomic rename, so that a build that runs the generator
 * while another reads the files never sees half a file. Always writes (even the same bytes): the
 * build re-runs a generator whose outputs are older than it.
 */
void write_file(const std::filesystem::path& path, const std::string& text) {
  write_file_atomically(path.string(), text, {.prefix = "[aot] "});
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
