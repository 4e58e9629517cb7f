#pragma once
// A file that is replaced whole or not at all: checkpoints, cached kernels and emitted sources
// are written through it, so a crash, a full disk or a second process writing the same file
// never leaves half a file behind.

#include <string>
#include <string_view>

namespace kiln {

/**
 * Writes go to a temporary file beside `path`, named ".<name>.tmp-<pid>-<n>" (created with
 * O_EXCL, so two writers never share one); commit() flushes it to disk (unless `sync` is off)
 * and renames it over `path`. Destroying an AtomicFile that was not committed removes the
 * temporary file, so a failure leaves the directory as it was. Errors throw kiln::Error
 * "<prefix><path>: cannot write: <step> <file>: <reason>".
 */
class AtomicFile {
public:
  struct Options {
    /** Starts every error message, e.g. "[checkpoint] ". */
    std::string prefix;
    /** fsync the file before the rename and the directory after it. */
    bool sync = true;
    /** Permission bits of the new file (before the umask). */
    unsigned mode = 0666;
  };

  AtomicFile(std::string path, Options options);
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;
  ~AtomicFile();

  void write(const void* data, size_t n);
  void write(std::string_view text) { write(text.data(), text.size()); }
  /** Makes the file visible at `path`. */
  void commit();

  /** The temporary file's path. */
  const std::string& temp_path() const { return tmp_; }

private:
  [[noreturn]] void fail(const std::string& step) const;

  std::string path_, dir_, tmp_;
  Options options_;
  int fd_ = -1;
  bool committed_ = false;
};

/** Writes `text` to `path` through an AtomicFile. */
void write_file_atomically(const std::string& path, std::string_view text,
                           AtomicFile::Options options);

} // namespace kiln
