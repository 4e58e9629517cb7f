#include "runtime/kernel_cache.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <system_error>

#include "base/atomic_file.h"
#include "base/debug.h"
#include "base/error.h"
#include "base/hash.h"

namespace kiln::runtime {
namespace fs = std::filesystem;

namespace {

constexpr char kMagic[8] = {'K', 'I', 'L', 'N', 'K', 'C', '\r', '\n'};
constexpr uint32_t kFormatVersion = 1;
constexpr size_t kHeaderSize = 8 + 4 + 4 + 8 + 8;
// Keys longer than this, or with characters unfit for a file name, are hashed into the name.
constexpr size_t kMaxPlainKey = 128;

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

// Writes all of `data` to `fd`; false (errno set) on failure.
std::string str_error(const std::error_code& ec, const std::string& what) {
  return what + ": " + ec.message();
}

} // namespace

std::string make_cache_key(std::string_view source, std::string_view flags,
                           std::string_view compiler_id, std::string_view target_id) {
  // Length-prefix every part so that moving bytes between parts changes the key.
  std::string all;
  all.reserve(source.size() + flags.size() + compiler_id.size() + target_id.size() + 64);
  for (std::string_view part : {source, flags, compiler_id, target_id}) {
    all += std::to_string(part.size());
    all += ':';
    all += part;
    all += ';';
  }
  return hash_hex128(all);
}

KernelCache::KernelCache(fs::path dir) : dir_(std::move(dir)) {}

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
  std::error_code ec;
  fs::path tmp = fs::temp_directory_path(ec);
  return (ec ? fs::path("/tmp") : tmp) / "kiln-cache";
}

KernelCache& KernelCache::default_cache() {
  static KernelCache cache(default_dir());
  return cache;
}

fs::path KernelCache::entry_path(std::string_view key) const {
  std::string name = plain_key(key) ? std::string(key) : hash_hex128(key);
  return dir_ / (name + ".kc");
}

std::optional<std::string> KernelCache::load(std::string_view key) {
  if (!enabled()) {
    ++misses_;
    return std::nullopt;
  }
  fs::path path = entry_path(key);
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  const std::streamoff size = in ? static_cast<std::streamoff>(in.tellg()) : -1;
  if (size < 0) {
    ++misses_;
    return std::nullopt;
  }
  std::string file(static_cast<size_t>(size), '\0');
  in.seekg(0);
  if (!in.read(file.data(), size)) {
    ++misses_;
    return std::nullopt;
  }
  in.close();

  if (file.size() < kHeaderSize || std::memcmp(file.data(), kMagic, sizeof kMagic) != 0) {
    count_corrupt(path, "bad magic or short header");
    return std::nullopt;
  }
  uint64_t version = get_le(file, 8, 4);
  uint64_t key_len = get_le(file, 12, 4);
  uint64_t payload_len = get_le(file, 16, 8);
  uint64_t checksum = get_le(file, 24, 8);
  if (version != kFormatVersion) {
    count_corrupt(path, "unknown format version");
    return std::nullopt;
  }
  // Compare lengths without adding them, so a huge payload_len cannot wrap around.
  if (key_len > file.size() - kHeaderSize || payload_len != file.size() - kHeaderSize - key_len) {
    count_corrupt(path, "length mismatch");
    return std::nullopt;
  }
  if (std::string_view(file).substr(kHeaderSize, key_len) != key) {
    count_corrupt(path, "key mismatch");
    return std::nullopt;
  }
  const size_t payload_at = kHeaderSize + key_len;
  if (hash_bytes(file.data() + payload_at, payload_len) != checksum) {
    count_corrupt(path, "checksum mismatch");
    return std::nullopt;
  }
  ++hits_;
  file.erase(0, payload_at);
  return file;
}

void KernelCache::store(std::string_view key, std::string_view bytes) {
  if (!enabled())
    return;
  std::error_code ec;
  fs::create_directories(dir_, ec);
  if (ec) {
    warn_store_failure(str_error(ec, "cannot create the directory"));
    return;
  }

  std::string header(kMagic, sizeof kMagic);
  put_u32(header, kFormatVersion);
  put_u32(header, static_cast<uint32_t>(key.size()));
  put_u64(header, bytes.size());
  put_u64(header, hash_bytes(bytes.data(), bytes.size()));
  header += key;

  // AtomicFile: a name unique across processes and threads, in the same directory so that the
  // rename is atomic; readers see the old entry or the new one, never a partial file. No fsync:
  // after a crash a torn entry fails its checksum and is rebuilt.
  try {
    AtomicFile f(entry_path(key).string(), {.prefix = "", .sync = false, .mode = 0644});
    f.write(header);
    f.write(bytes);
    f.commit();
  } catch (const Error& e) {
    warn_store_failure(e.what());
    return;
  }
  ++stores_;
}

KernelCache::Stats KernelCache::stats() const {
  return Stats{hits_.load(), misses_.load(), corrupt_.load(), stores_.load(),
               store_failures_.load()};
}

void KernelCache::count_corrupt(const fs::path& path, std::string_view why) {
  ++corrupt_;
  ++misses_;
  // Another process may have just renamed a good entry over this path; removing that one too
  // costs a recompile, never a wrong result.
  std::error_code ec;
  fs::remove(path, ec);
  if (debug_level() >= 1)
    std::fprintf(stderr, "[kernel_cache] %s: corrupt entry (%.*s), removed\n", path.c_str(),
                 static_cast<int>(why.size()), why.data());
}

void KernelCache::warn_store_failure(std::string_view why) {
  ++store_failures_;
  if (debug_level() >= 1 && !warned_.exchange(true))
    std::fprintf(stderr, "[kernel_cache] %s: %.*s; kernels will not be cached\n", dir_.c_str(),
                 static_cast<int>(why.size()), why.data());
}

} // namespace kiln::runtime
