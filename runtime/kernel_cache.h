#pragma once
// On-disk cache of compiled kernels (CPU object files, CUDA cubins): opaque bytes under a key.
// kiln runs what it loads from here, so the cache trusts nothing it did not write itself: the
// directory must be the user's and writable by no one else, an entry must be the user's regular
// file, and an entry holds its whole key, compared byte for byte, and a checksum, so a truncated,
// corrupt, colliding or planted file is never run. Writes are atomic renames, so several
// processes can share one cache directory.

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

namespace kiln::runtime {

/**
 * The cache key of a compile: everything that decides the compiled bytes, in full (the source,
 * the compiler flags, the compiler's exact version and the target: CPU name and features, or
 * GPU arch), each part length-prefixed so that moving bytes between parts changes the key. Equal
 * inputs give equal keys in every process and on every machine.
 */
std::string make_cache_key(std::string_view source, std::string_view flags,
                           std::string_view compiler_id, std::string_view target_id);

/** XXH3-128 of `bytes` as 32 lowercase hex digits (libxxhash). */
std::string xxh3_128_hex(std::string_view bytes);

/**
 * A directory of cache entries, one file per key, named by the key's XXH3-128 (or by the key
 * itself when it is a short plain name).
 *
 * Entry layout (integers little-endian):
 *   magic "KILNKC\r\n" (8 bytes) | u32 format version (2) | u32 zero | u64 key length |
 *   u64 payload length | XXH3-128 of key and payload (16 bytes) | key bytes | payload bytes
 *
 * The directory is checked once, when first used: it must be owned by this user (the effective
 * uid) and writable by neither group nor others; one that is not is never read or written, and
 * stderr says why once ("[kernel_cache] <dir>: not used: ..."), so compilation goes on without
 * the cache. A missing directory is created, mode 0700. An entry is opened without following
 * symlinks or blocking and must be a regular file of this user that group and others cannot write;
 * one that is not (a FIFO, a directory, another user's file) is refused as corrupt, never read.
 * Stores keep the entries under the cache's size bound: past it, the least recently used go (a
 * load marks an entry used by its modification time) until nine tenths of the bound are left,
 * and the temporary files of killed writers go too. That reads the whole directory, a stat per
 * entry, so it is done on a process's first store when no process did it in the last ten
 * minutes (the ".swept" file's time), and after every eighth of the bound a process stores;
 * loads never read the directory.
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
    int64_t evicted = 0; ///< entries removed to keep the size bound
  };

  /** The default size bound, 1 GiB: some 20,000 of the course's kernels. */
  static constexpr int64_t kDefaultMaxBytes = int64_t{1} << 30;

  /**
   * A cache in `dir`, created on the first store, whose entries stay under `max_bytes` in all
   * (0: no bound). An empty path gives a disabled cache.
   */
  explicit KernelCache(std::filesystem::path dir, int64_t max_bytes = kDefaultMaxBytes);
  KernelCache(const KernelCache&) = delete;
  KernelCache& operator=(const KernelCache&) = delete;
  ~KernelCache();

  /**
   * The process-wide cache in default_dir(). The environment is read on the first call only.
   */
  static KernelCache& default_cache();

  /**
   * The default directory from the environment as it is now: $KILN_CACHE_DIR, else
   * $XDG_CACHE_HOME/kiln, else $HOME/.cache/kiln, else <temp dir>/kiln-cache-<uid> (created
   * mode 0700 when first used, and then checked like any other). Empty (cache off) when
   * KILN_CACHE=0.
   */
  static std::filesystem::path default_dir();

  /**
   * The default cache's size bound from the environment as it is now: $KILN_CACHE_MAX_MB
   * mebibytes (0: no bound), else kDefaultMaxBytes. Throws on a value that is not a whole
   * number of mebibytes, naming the variable.
   */
  static int64_t default_max_bytes();

  /**
   * The payload stored under `key`, or nullopt on a miss. An entry that fails any check (owner,
   * file type, magic, version, lengths, key, checksum) is counted as corrupt, deleted and
   * reported as a miss.
   */
  std::optional<std::string> load(std::string_view key);

  /** Stores `bytes` under `key`, replacing any entry atomically. Never throws on I/O errors. */
  void store(std::string_view key, std::string_view bytes);

  /** The cache directory (empty when the cache is disabled). */
  const std::filesystem::path& dir() const { return dir_; }

  /** False for a disabled cache, whose load() always misses and store() does nothing. */
  bool enabled() const { return !dir_.empty(); }

  /**
   * Why the directory is not used (not the user's, writable by others), or "" while it is
   * usable or not yet checked.
   */
  std::string refusal() const;

  /** The file that holds (or would hold) the entry for `key`. */
  std::filesystem::path entry_path(std::string_view key) const;

  /** A snapshot of the counters. */
  Stats stats() const;

private:
  enum class DirState { Unchecked, Usable, Refused };
  /** The directory's descriptor once it is checked and usable, else -1 (creating it if asked). */
  int open_dir(bool create);
  std::string entry_name(std::string_view key) const;
  void count_corrupt(int dir, std::string_view name, std::string_view why);
  void warn_store_failure(std::string_view why);

  std::filesystem::path dir_;
  mutable std::mutex dir_mutex_;
  DirState dir_state_ = DirState::Unchecked;
  int dir_fd_ = -1;
  std::string refusal_;
  /** Removes killed writers' temporaries and, past the bound, the least recently used entries
      but `keep`. Called with dir_mutex_ held. */
  void sweep(int dir, const std::string& keep);

  int64_t max_bytes_ = 0;
  /** Whether a store swept the directory yet, and the bytes stored since. */
  bool swept_ = false;
  int64_t stored_since_sweep_ = 0;
  std::atomic<int64_t> hits_{0}, misses_{0}, corrupt_{0}, stores_{0}, store_failures_{0},
      evicted_{0};
  std::atomic<bool> warned_{false};
};

} // namespace kiln::runtime
