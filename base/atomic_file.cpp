#include "base/atomic_file.h"

#include <atomic>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <utility>

#include <fcntl.h>
#include <unistd.h>

#include "base/error.h"

namespace kiln {

AtomicFile::AtomicFile(std::string path, Options options)
    : path_(std::move(path)), options_(std::move(options)) {
  static std::atomic<unsigned> counter{0};
  const std::filesystem::path target(path_);
  dir_ = target.parent_path().empty() ? "." : target.parent_path().string();
  // O_EXCL never follows a stale file from a crashed run whose pid came back; try the next.
  for (int attempt = 0; fd_ < 0; ++attempt) {
    tmp_ = (std::filesystem::path(dir_) /
            str(".", target.filename().string(), ".tmp-", ::getpid(), "-", counter++))
               .string();
    fd_ = ::open(tmp_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, options_.mode);
    if (fd_ < 0 && (errno != EEXIST || attempt == 100)) {
      const std::string step = "creating " + tmp_;
      tmp_.clear(); // nothing to remove
      fail(step);
    }
  }
}

AtomicFile::~AtomicFile() {
  if (fd_ >= 0)
    ::close(fd_);
  if (!committed_ && !tmp_.empty())
    ::unlink(tmp_.c_str());
}

void AtomicFile::write(const void* data, size_t n) {
  const auto* p = static_cast<const char*>(data);
  while (n > 0) {
    const ssize_t got = ::write(fd_, p, n);
    if (got < 0 && errno == EINTR)
      continue;
    if (got < 0)
      fail("writing " + tmp_);
    p += got;
    n -= static_cast<size_t>(got);
  }
}

// fsync before rename: otherwise a crash soon after could leave the new name on empty blocks.
void AtomicFile::commit() {
  if (options_.sync && ::fsync(fd_) != 0)
    fail("syncing " + tmp_);
  const int fd = std::exchange(fd_, -1);
  if (::close(fd) != 0)
    fail("closing " + tmp_);
  if (::rename(tmp_.c_str(), path_.c_str()) != 0)
    fail("renaming " + tmp_ + " to " + path_);
  committed_ = true;
  if (!options_.sync)
    return;
  // Makes the rename itself durable. The new file is in place already, so a filesystem that
  // cannot sync directories is no reason to report a failure.
  const int dir = ::open(dir_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir >= 0) {
    ::fsync(dir);
    ::close(dir);
  }
}

void AtomicFile::fail(const std::string& step) const {
  throw Error(str(options_.prefix, path_, ": cannot write: ", step, ": ", std::strerror(errno)));
}

void write_file_atomically(const std::string& path, std::string_view text,
                           AtomicFile::Options options) {
  AtomicFile f(path, std::move(options));
  f.write(text);
  f.commit();
}

} // namespace kiln
