#pragma once
// A file that is replaced whole or not at all: checkpoints, cached kernels and emitted sources
// are written through it, so a crash, a full disk or a second process writing the same file
// never leaves half a file behind.

#include <functional>
#include <string>
#include <string_view>

namespace kiln {

/**
 * Writes go to a temporary file beside `path`, named ".<name>.tmp-<pid>-<n>" (created with
 * O_EXCL, so two writers never share one); commit() flushes it to disk (unless `sync` is off)
 * and renames it over `path`, then removes the temporary files of `path` that killed processes
 * left behind (remove_stale_temporaries). Destroying an AtomicFile that was not committed removes
 * the temporary file, so a failure leaves the directory as it was. Errors throw kiln::Error
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
    /**
     * The directory of `path`, already open (O_DIRECTORY), or -1. Given one, the file is created
     * and renamed relative to it (openat, renameat), so a directory checked once (the kernel
     * cache's) cannot be swapped for another by renaming a path component in between. It stays
     * the caller's to close.
     */
    int dir_fd = -1;
    /**
     * After the rename, remove the temporary files of `path` that killed writers left. That
     * reads the whole directory: a caller that keeps thousands of files in one (the kernel
     * cache) sweeps them itself, less often.
     */
    bool sweep = true;
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

  std::string path_, dir_, name_, tmp_, tmp_name_;
  Options options_;
  int fd_ = -1;
  bool committed_ = false;
};

/** Writes `text` to `path` through an AtomicFile. */
void write_file_atomically(const std::string& path, std::string_view text,
                           AtomicFile::Options options);

/**
 * Removes the temporary files ".<name>.tmp-<pid>-<n>" in directory `dir` (or, when `dir_fd` is
 * not -1, the directory it refers to) whose process no longer runs: what a writer killed
 * between creating and renaming its file leaves. Only those of `name` when it is not empty,
 * else every name's. A process of this pid that still runs, this one included, keeps its files.
 * `keep`, when given, sees the name of every other entry, in the same pass over the directory
 * (the kernel cache sizes its entries there). Returns how many were removed; never throws.
 */
int remove_stale_temporaries(const std::string& dir, std::string_view name = {}, int dir_fd = -1,
                             const std::function<void(const char*)>& keep = {});

} // namespace kiln
