#include "runtime/kernel_cache.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <system_error>
#include <vector>

#include <xxhash.h>

#include "base/atomic_file.h"
#include "base/debug.h"
#include "base/error.h"

namespace kiln::runtime {
namespace fs = std::filesystem;

namespace {

// The file whose modification time says when a process last swept the directory, and how long
// that keeps the next process from doing it again.
constexpr char kSweptName[] = ".swept";
constexpr int64_t kSweepSeconds = 600;

constexpr char kMagic[8] = {'K', 'I', 'L', 'N', 'K', 'C', '\r', '\n'};
constexpr uint32_t kFormatVersion = 2;
constexpr size_t kHeaderSize = 8 + 4 + 4 + 8 + 8 + 16;
// Keys longer than this, or with characters unfit for a file name, are hashed into the name.
constexpr size_t kMaxPlainKey = 128;
// No kernel comes near this; a bigger file is not read into memory.
constexpr uint64_t kMaxEntryBytes = uint64_t{1} << 30;

void put_u32(std::string& out, uint32_t v) {
  for (int i = 0; i < 4; ++i)
    out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}
void put_u64(std::string& out, uint64_t v) {
  for (int i = 0; i < 8; ++i)
    out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}
uint64_t get_le(const std::string& in, size_t at, int bytes) {
  uint64_t v = 0;
  for (int i = 0; i < bytes; ++i)
    v |= static_cast<uint64_t>(static_cast<unsigned char>(in[at + i])) << (8 * i);
  return v;
}

bool plain_key(std::string_view key) {
  if (key.empty() || key.size() > kMaxPlainKey)
    return false;
  for (char c : key) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_';
    if (!ok)
      return false;
  }
  return true;
}

/** XXH3-128 of the key followed by the payload, canonical (big-endian) bytes. */
std::string entry_checksum(std::string_view key, std::string_view payload) {
  XXH3_state_t* state = XXH3_createState();
  KILN_ASSERT(state != nullptr, "XXH3_createState: out of memory");
  XXH3_128bits_reset(state);
  XXH3_128bits_update(state, key.data(), key.size());
  XXH3_128bits_update(state, payload.data(), payload.size());
  XXH128_canonical_t c;
  XXH128_canonicalFromHash(&c, XXH3_128bits_digest(state));
  XXH3_freeState(state);
  return std::string(reinterpret_cast<const char*>(c.digest), sizeof c.digest);
}

std::string mode_text(mode_t mode) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "%04o", static_cast<unsigned>(mode & 07777));
  return buf;
}

// Reads all `n` bytes of `fd`; false when the file is shorter or cannot be read.
bool read_all(int fd, char* out, size_t n) {
  size_t done = 0;
  while (done < n) {
    const ssize_t got = ::pread(fd, out + done, n - done, static_cast<off_t>(done));
    if (got < 0 && errno == EINTR)
      continue;
    if (got <= 0)
      return false;
    done += static_cast<size_t>(got);
  }
  return true;
}

} // namespace

std::string xxh3_128_hex(std::string_view bytes) {
  XXH128_canonical_t c;
  XXH128_canonicalFromHash(&c, XXH3_128bits(bytes.data(), bytes.size()));
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned char b : c.digest) {
    out.push_back(kHex[b >> 4]);
    out.push_back(kHex[b & 15]);
  }
  return out;
}

std::string make_cache_key(std::string_view source, std::string_view flags,
                           std::string_view compiler_id, std::string_view target_id) {
  std::string all;
  all.reserve(source.size() + flags.size() + compiler_id.size() + target_id.size() + 96);
  for (std::string_view part : {source, flags, compiler_id, target_id}) {
    all += std::to_string(part.size());
    all += ':';
    all += part;
    all += ';';
  }
  return all;
}

KernelCache::KernelCache(fs::path dir, int64_t max_bytes)
    : dir_(std::move(dir)), max_bytes_(max_bytes) {
  if (max_bytes < 0)
    throw Error(str("[kernel_cache] the size bound must be 0 (none) or positive, got ", max_bytes));
}

KernelCache::~KernelCache() {
  if (dir_fd_ >= 0)
    ::close(dir_fd_);
}

fs::path KernelCache::default_dir() {
  const char* off = std::getenv("KILN_CACHE");
  if (off && std::strcmp(off, "0") == 0)
    return {};
  if (const char* d = std::getenv("KILN_CACHE_DIR"); d && *d)
    return fs::path(d);
  if (const char* x = std::getenv("XDG_CACHE_HOME"); x && *x)
    return fs::path(x) / "kiln";
  if (const char* h = std::getenv("HOME"); h && *h)
    return fs::path(h) / ".cache" / "kiln";
  // A name of this user's own: one shared name would let whoever creates it first plant code.
  std::error_code ec;
  fs::path tmp = fs::temp_directory_path(ec);
  return (ec ? fs::path("/tmp") : tmp) / ("kiln-cache-" + std::to_string(::geteuid()));
}

int64_t KernelCache::default_max_bytes() {
  const char* mb = std::getenv("KILN_CACHE_MAX_MB");
  if (mb == nullptr || *mb == '\0')
    return kDefaultMaxBytes;
  char* end = nullptr;
  errno = 0;
  const long long v = std::strtoll(mb, &end, 10);
  if (errno != 0 || *end != '\0' || v < 0 || v > (int64_t{1} << 43))
    throw Error(str("[kernel_cache] KILN_CACHE_MAX_MB must be a whole number of mebibytes (0: no "
                    "bound), got '",
                    mb, "'"));
  return static_cast<int64_t>(v) << 20;
}

KernelCache& KernelCache::default_cache() {
  static KernelCache cache(default_dir(), default_max_bytes());
  return cache;
}

std::string KernelCache::entry_name(std::string_view key) const {
  return (plain_key(key) ? std::string(key) : xxh3_128_hex(key)) + ".kc";
}

fs::path KernelCache::entry_path(std::string_view key) const {
  return dir_ / entry_name(key);
}

std::string KernelCache::refusal() const {
  std::lock_guard<std::mutex> lock(dir_mutex_);
  return refusal_;
}

int KernelCache::open_dir(bool create) {
  std::lock_guard<std::mutex> lock(dir_mutex_);
  if (dir_state_ != DirState::Unchecked)
    return dir_fd_;
  constexpr int kFlags = O_RDONLY | O_DIRECTORY | O_CLOEXEC;
  int fd = ::open(dir_.c_str(), kFlags);
  if (fd < 0 && (errno == ENOENT || errno == ENOTDIR) && create) {
    std::error_code ec;
    if (dir_.has_parent_path())
      fs::create_directories(dir_.parent_path(), ec);
    if (!ec && ::mkdir(dir_.c_str(), 0700) != 0 && errno != EEXIST)
      ec = std::error_code(errno, std::generic_category());
    if (ec) {
      warn_store_failure("cannot create the directory: " + ec.message());
      return -1;
    }
    fd = ::open(dir_.c_str(), kFlags);
  }
  if (fd < 0) {
    if (create)
      warn_store_failure(str("cannot open the directory: ", std::strerror(errno)));
    return -1;
  }
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    ::close(fd);
    return -1;
  }
  // Anyone who can write the directory can plant code that kiln would run.
  const uid_t me = ::geteuid();
  if (st.st_uid != me)
    refusal_ = str("it is owned by uid ", st.st_uid, ", not by this user (uid ", me, ")");
  else if ((st.st_mode & (S_IWGRP | S_IWOTH)) != 0)
    refusal_ = str("it is writable by group or others (mode ", mode_text(st.st_mode), ")");
  if (!refusal_.empty()) {
    ::close(fd);
    dir_state_ = DirState::Refused;
    std::fprintf(stderr,
                 "[kernel_cache] %s: not used: %s; kernels are compiled without the cache (make "
                 "the directory yours and not writable by others, e.g. chmod go-w, or set "
                 "KILN_CACHE_DIR)\n",
                 dir_.c_str(), refusal_.c_str());
    return -1;
  }
  dir_state_ = DirState::Usable;
  dir_fd_ = fd;
  return dir_fd_;
}

std::optional<std::string> KernelCache::load(std::string_view key) {
  const int dir = enabled() ? open_dir(false) : -1;
  if (dir < 0) {
    ++misses_;
    return std::nullopt;
  }
  const std::string name = entry_name(key);
  // Never follow a link, never wait on a FIFO: the entry is checked before a byte is read.
  const int fd = ::openat(dir, name.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ELOOP)
      count_corrupt(dir, name, "a symbolic link");
    else
      ++misses_;
    return std::nullopt;
  }
  struct stat st {};
  std::string refuse;
  if (::fstat(fd, &st) != 0)
    refuse = str("cannot stat: ", std::strerror(errno));
  else if (!S_ISREG(st.st_mode))
    refuse = "not a regular file";
  else if (st.st_uid != ::geteuid())
    refuse = str("owned by uid ", st.st_uid, ", not by this user");
  else if ((st.st_mode & (S_IWGRP | S_IWOTH)) != 0)
    refuse = str("writable by group or others (mode ", mode_text(st.st_mode), ")");
  else if (static_cast<uint64_t>(st.st_size) > kMaxEntryBytes)
    refuse = str("too large (", st.st_size, " bytes)");
  std::string file;
  if (refuse.empty()) {
    file.resize(static_cast<size_t>(st.st_size));
    if (!read_all(fd, file.data(), file.size()))
      refuse = "cannot read it whole";
  }
  // Used now: the size bound removes the least recently used entries first (by modification
  // time, which every mount keeps; a failure only makes the entry look older).
  if (refuse.empty())
    ::futimens(fd, nullptr);
  ::close(fd);
  if (!refuse.empty()) {
    count_corrupt(dir, name, refuse);
    return std::nullopt;
  }

  if (file.size() < kHeaderSize || std::memcmp(file.data(), kMagic, sizeof kMagic) != 0) {
    count_corrupt(dir, name, "bad magic or short header");
    return std::nullopt;
  }
  const uint64_t version = get_le(file, 8, 4);
  const uint64_t key_len = get_le(file, 16, 8);
  const uint64_t payload_len = get_le(file, 24, 8);
  if (version != kFormatVersion || get_le(file, 12, 4) != 0) {
    count_corrupt(dir, name, "unknown format version");
    return std::nullopt;
  }
  // Compare lengths without adding them, so a huge payload_len cannot wrap around.
  if (key_len > file.size() - kHeaderSize || payload_len != file.size() - kHeaderSize - key_len) {
    count_corrupt(dir, name, "length mismatch");
    return std::nullopt;
  }
  const std::string_view stored_key = std::string_view(file).substr(kHeaderSize, key_len);
  if (stored_key != key) {
    count_corrupt(dir, name, "key mismatch");
    return std::nullopt;
  }
  const size_t payload_at = kHeaderSize + key_len;
  if (entry_checksum(stored_key, std::string_view(file).substr(payload_at)) !=
      std::string_view(file).substr(32, 16)) {
    count_corrupt(dir, name, "checksum mismatch");
    return std::nullopt;
  }
  ++hits_;
  file.erase(0, payload_at);
  return file;
}

void KernelCache::store(std::string_view key, std::string_view bytes) {
  if (!enabled())
    return;
  const int dir = open_dir(true);
  if (dir < 0) {
    ++store_failures_;
    return;
  }
  const std::string name = entry_name(key);
  std::string header(kMagic, sizeof kMagic);
  put_u32(header, kFormatVersion);
  put_u32(header, 0);
  put_u64(header, key.size());
  put_u64(header, bytes.size());
  header += entry_checksum(key, bytes);
  header += key;

  // AtomicFile: a name unique across processes and threads, in the checked directory (by its
  // descriptor) so that the rename is atomic; readers see the old entry or the new one, never a
  // partial file. No fsync: after a crash a torn entry fails its checksum and is rebuilt.
  try {
    AtomicFile f((dir_ / name).string(),
                 {.prefix = "", .sync = false, .mode = 0644, .dir_fd = dir, .sweep = false});
    f.write(header);
    f.write(bytes);
    f.commit();
  } catch (const Error& e) {
    ++store_failures_;
    warn_store_failure(e.what());
    return;
  }
  ++stores_;
  // Reading the directory costs a stat per entry (22-32 ms for 6,400 entries here): never on a
  // load, and on a store only after every eighth of the bound this process wrote, or on its
  // first store when no process swept in the last ten minutes (the ".swept" file's time).
  std::lock_guard<std::mutex> lock(dir_mutex_);
  stored_since_sweep_ += static_cast<int64_t>(header.size() + bytes.size());
  bool due = max_bytes_ > 0 && stored_since_sweep_ > max_bytes_ / 8;
  if (!swept_) {
    swept_ = true;
    struct stat st {};
    due = due || ::fstatat(dir, kSweptName, &st, AT_SYMLINK_NOFOLLOW) != 0 ||
          std::time(nullptr) - st.st_mtim.tv_sec > kSweepSeconds;
  }
  if (due) {
    stored_since_sweep_ = 0;
    sweep(dir, name);
  }
}

void KernelCache::sweep(int dir, const std::string& keep) {
  const int marker = ::openat(dir, kSweptName, O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (marker >= 0) {
    ::futimens(marker, nullptr);
    ::close(marker);
  }
  struct Entry {
    struct timespec used;
    int64_t bytes;
    std::string name;
  };
  std::vector<Entry> entries;
  int64_t total = 0;
  // One pass over the directory: the temporaries go, the entries are sized.
  remove_stale_temporaries(dir_.string(), {}, dir, [&](const char* name) {
    struct stat st {};
    if (max_bytes_ == 0 || name[0] == '.' || !std::string_view(name).ends_with(".kc") ||
        ::fstatat(dir, name, &st, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISREG(st.st_mode))
      return;
    total += st.st_size;
    entries.push_back({st.st_mtim, st.st_size, name});
  });
  if (max_bytes_ == 0 || total <= max_bytes_)
    return;
  std::sort(entries.begin(), entries.end(), [](const Entry& a, const Entry& b) {
    return a.used.tv_sec != b.used.tv_sec ? a.used.tv_sec < b.used.tv_sec
                                          : a.used.tv_nsec < b.used.tv_nsec;
  });
  // Down to nine tenths, so that the next stores do not each remove one entry.
  const int64_t target = max_bytes_ - max_bytes_ / 10;
  for (const Entry& e : entries) {
    if (total <= target)
      break;
    if (e.name == keep || ::unlinkat(dir, e.name.c_str(), 0) != 0)
      continue;
    total -= e.bytes;
    ++evicted_;
  }
}

KernelCache::Stats KernelCache::stats() const {
  return Stats{hits_.load(),   misses_.load(),         corrupt_.load(),
               stores_.load(), store_failures_.load(), evicted_.load()};
}

void KernelCache::count_corrupt(int dir, std::string_view name, std::string_view why) {
  ++corrupt_;
  ++misses_;
  // Another process may have just renamed a good entry over this name; removing that one too
  // costs a recompile, never a wrong result. The directory is this user's, so whatever sits in it
  // under an entry's name goes (an empty directory included).
  const std::string n(name);
  if (::unlinkat(dir, n.c_str(), 0) != 0 && (errno == EISDIR || errno == EPERM))
    ::unlinkat(dir, n.c_str(), AT_REMOVEDIR);
  if (debug_level() >= 1)
    std::fprintf(stderr, "[kernel_cache] %s: entry refused (%.*s), removed\n", (dir_ / n).c_str(),
                 static_cast<int>(why.size()), why.data());
}

void KernelCache::warn_store_failure(std::string_view why) {
  if (debug_level() >= 1 && !warned_.exchange(true))
    std::fprintf(stderr, "[kernel_cache] %s: %.*s; kernels will not be cached\n", dir_.c_str(),
                 static_cast<int>(why.size()), why.data());
}

} // namespace kiln::runtime
