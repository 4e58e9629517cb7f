#pragma once
// Stable, non-cryptographic hashing used for structural node hashes, kernel names and
// kernel-cache keys. Results are identical across runs, processes and machines.

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

namespace kiln {

/** splitmix64 finalizer: spreads every input bit over the whole word. */
inline uint64_t mix64(uint64_t x) {
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ull;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebull;
  x ^= x >> 31;
  return x;
}

/** Combines a running hash with one more value (order matters). */
inline uint64_t hash_combine(uint64_t seed, uint64_t v) {
  return mix64(seed ^ (v + 0x9e3779b97f4a7c15ull + (seed << 6) + (seed >> 2)));
}

/** 64-bit hash of bytes: FNV-1a over the bytes, then a final avalanche. */
inline uint64_t hash_bytes(const void* data, size_t n, uint64_t seed = 0xcbf29ce484222325ull) {
  const auto* p = static_cast<const unsigned char*>(data);
  uint64_t h = seed;
  for (size_t i = 0; i < n; ++i) {
    h ^= p[i];
    h *= 0x100000001b3ull;
  }
  return mix64(h ^ n);
}

inline uint64_t hash_string(std::string_view s, uint64_t seed = 0xcbf29ce484222325ull) {
  return hash_bytes(s.data(), s.size(), seed);
}

/** 128-bit content hash as 32 lowercase hex digits (two independent 64-bit lanes). */
inline std::string hash_hex128(std::string_view s) {
  const uint64_t lanes[2] = {hash_string(s), hash_string(s, 0x84222325cbf29ce4ull)};
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out(32, '0');
  for (int l = 0; l < 2; ++l)
    for (int i = 0; i < 16; ++i)
      out[l * 16 + i] = kHex[(lanes[l] >> (60 - 4 * i)) & 15];
  return out;
}

} // namespace kiln
