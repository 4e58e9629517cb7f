#include "base/atomic_file.h"

#include <atomic>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <filesystem>
#include <utility>

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include "base/error.h"

namespace kiln {

namespace {

constexpr std::string_view kTmpTag = ".tmp-";

// The pid in a temporary file's name ".<name>.tmp-<pid>-<n>", or -1 when `entry` is not one
// (of `name`, when it is not empty).
long temporary_pid(std::string_view entry, std::string_view name) {
  if (entry.size() < 2 || entry[0] != '.')
    return -1;
  const size_t tag = entry.rfind(kTmpTag);
  if (tag == std::string_view::npos || tag < 2)
    return -1;
  if (!name.empty() && entry.substr(1, tag - 1) != name)
    return -1;
  const std::string_view rest = entry.substr(tag + kTmpTag.size());
  const size_t dash = rest.find('-');
  if (dash == std::string_view::npos || dash == 0 || dash + 1 == rest.size())
    return -1;
  long pid = 0;
  unsigned long n = 0;
  const char* pid_end = rest.data() + dash;
  const char* n_end = rest.data() + rest.size();
  if (std::from_chars(rest.data(), pid_end, pid).ptr != pid_end || pid <= 0 ||
      std::from_chars(pid_end + 1, n_end, n).ptr != n_end)
    return -1;
  return pid;
}

bool process_gone(long pid) {
  return ::kill(static_cast<pid_t>(pid), 0) != 0 && errno == ESRCH;
}

} // namespace

AtomicFile::AtomicFile(std::string path, Options options)
    : path_(std::move(path)), options_(std::move(options)) {
  static std::atomic<unsigned> counter{0};
  const std::filesystem::path target(path_);
  dir_ = target.parent_path().empty() ? "." : target.parent_path().string();
  name_ = target.filename().string();
  // O_EXCL never follows a stale file from a crashed run whose pid came back; try the next.
  for (int attempt = 0; fd_ < 0; ++attempt) {
    tmp_name_ = str(".", name_, kTmpTag, ::getpid(), "-", counter++);
    tmp_ = (std::filesystem::path(dir_) / tmp_name_).string();
    const int flags = O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW;
    fd_ = options_.dir_fd >= 0 ? ::openat(options_.dir_fd, tmp_name_.c_str(), flags, options_.mode)
                               : ::open(tmp_.c_str(), flags, options_.mode);
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
  if (!committed_ && !tmp_.empty()) {
    if (options_.dir_fd >= 0)
      ::unlinkat(options_.dir_fd, tmp_name_.c_str(), 0);
    else
      ::unlink(tmp_.c_str());
  }
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
  const int renamed = options_.dir_fd >= 0 ? ::renameat(options_.dir_fd, tmp_name_.c_str(),
                                                        options_.dir_fd, name_.c_str())
                                           : ::rename(tmp_.c_str(), path_.c_str());
  if (renamed != 0)
    fail("renaming " + tmp_ + " to " + path_);
  committed_ = true;
  if (options_.sweep)
    remove_stale_temporaries(dir_, name_, options_.dir_fd);
  if (!options_.sync)
    return;
  // Makes the rename itself durable. The new file is in place already, so a filesystem that
  // cannot sync directories is no reason to report a failure.
  if (options_.dir_fd >= 0) {
    ::fsync(options_.dir_fd);
    return;
  }
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

int remove_stale_temporaries(const std::string& dir, std::string_view name, int dir_fd,
                             const std::function<void(const char*)>& keep) {
  // fdopendir takes the descriptor it is given, so it gets a copy of the caller's.
  const int fd = dir_fd >= 0 ? ::fcntl(dir_fd, F_DUPFD_CLOEXEC, 0)
                             : ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0)
    return 0;
  DIR* d = ::fdopendir(fd);
  if (d == nullptr) {
    ::close(fd);
    return 0;
  }
  ::rewinddir(d);
  int removed = 0;
  const long self = ::getpid();
  while (const dirent* e = ::readdir(d)) {
    const long pid = temporary_pid(e->d_name, name);
    if (pid > 0 && pid != self && process_gone(pid) && ::unlinkat(fd, e->d_name, 0) == 0)
      ++removed;
    else if (keep)
      keep(e->d_name);
  }
  ::closedir(d);
  return removed;
}

} // namespace kiln
