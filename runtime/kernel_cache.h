#pragma once
// On-disk cache of compiled kernels (CPU object files, CUDA cubins): opaque bytes under a key.
// Entries are self-checking, so a truncated or corrupt file is never trusted, and writes are
// atomic renames, so several processes can share one cache directory.

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

namespace kiln::runtime {

/**
 * Builds a cache key from everything that decides the compiled bytes: the source, the compiler
 * flags, the compiler's exact version and the target (CPU name and features, or GPU arch).
 * Returns 32 lowercase hex digits; equal inputs give equal keys in every process and on every
 * machine.
 */
std::string make_cache_key(std::string_view source, std::string_view flags,
                           std::string_view compiler_id, std::string_view target_id);

/**
 * A directory of cache entries, one file per key.
 *
 * Entry layout (integers little-endian):
 *   magic "KILNKC\r\n" (8 bytes) | u32 format version | u32 key length | u64 payload length |
 *   u64 checksum of the payload (kiln::hash_bytes) | key bytes | payload bytes
 *
 * load() and store() never throw for I/O problems: a cache that cannot be read is a miss, and
 * one that cannot be written is skipped (with one warning on stderr when KILN_DEBUG is set), so
 * compilation always goes on. All members are thread-safe.
 */
class KernelCache {
public:
  /** Counters since construction; `corrupt` entries are also counted as misses. */
  struct Stats {
    int64_t hits = 0;
    int64_t misses = 0;
    int64_t corrupt = 0;
    int64_t stores = 0;
    int64_t store_failures = 0;
  };

  /** A cache in `dir`, created on the first store. An empty path gives a disabled cache. */
  explicit KernelCache(std::filesystem::path dir);
  KernelCache(const KernelCache&) = delete;
  KernelCache& operator=(const KernelCache&) = delete;

  /**
   * The process-wide cache in default_dir(). The environment is read on the first call only.
   */
  static KernelCache& default_cache();

  /**
   * The default directory from the environment as it is now: $KILN_CACHE_DIR, else
   * $XDG_CACHE_HOME/kiln, else $HOME/.cache/kiln, else <temp dir>/kiln-cache. Empty (cache off)
   * when KILN_CACHE=0.
   */
  static std::filesystem::path default_dir();

  /**
   * The payload stored under `key`, or nullopt on a miss. An entry that fails any check (magic,
   * version, lengths, key, checksum) is counted as corrupt, deleted and reported as a miss.
   */
  std::optional<std::string> load(std::string_view key);

  /** Stores `bytes` under `key`, replacing any entry atomically. Never throws on I/O errors. */
  void store(std::string_view key, std::string_view bytes);

  /** The cache directory (empty when the cache is disabled). */
  const std::filesystem::path& dir() const { return dir_; }

  /** False for a disabled cache, whose load() always misses and store() does nothing. */
  bool enabled() const { return !dir_.empty(); }

  /** The file that holds (or would hold) the entry for `key`. */
  std::filesystem::path entry_path(std::string_view key) const;

  /** A snapshot of the counters. */
  Stats stats() const;

private:
  void count_corrupt(const std::filesystem::path& path, std::string_view why);
  void warn_store_failure(std::string_view why);

  std::filesystem::path dir_;
  std::atomic<int64_t> hits_{0}, misses_{0}, corrupt_{0}, stores_{0}, store_failures_{0};
  std::atomic<bool> warned_{false};
};

} // namespace kiln::runtime
