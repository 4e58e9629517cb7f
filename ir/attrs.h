#pragma once
// Node attributes: a small sorted map from name to value. Generic, so that printing, parsing,
// hashing and equality need no per-op code, and a new op needs no new attribute plumbing.

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace kiln::ir {

/** int64 (flags, axes, sizes), double (constants), string (names), int list (axes, shapes). */
using AttrValue = std::variant<int64_t, double, std::string, std::vector<int64_t>>;

/** Attribute map, kept sorted by key so equal maps compare and hash equal. */
class Attrs {
public:
  Attrs() = default;

  Attrs& set(std::string key, AttrValue v);
  Attrs& set(std::string key, int v) { return set(std::move(key), AttrValue(int64_t{v})); }
  Attrs& set(std::string key, int64_t v) { return set(std::move(key), AttrValue(v)); }
  Attrs& set(std::string key, double v) { return set(std::move(key), AttrValue(v)); }
  Attrs& set(std::string key, const char* v) {
    return set(std::move(key), AttrValue(std::string(v)));
  }
  Attrs& set(std::string key, std::string v) {
    return set(std::move(key), AttrValue(std::move(v)));
  }
  Attrs& set(std::string key, std::vector<int64_t> v) {
    return set(std::move(key), AttrValue(std::move(v)));
  }

  bool has(std::string_view key) const { return find(key) != nullptr; }
  /** Typed getters: throw kiln::InternalError when the key is missing or has another type. */
  int64_t i(std::string_view key) const;
  double f(std::string_view key) const;
  const std::string& s(std::string_view key) const;
  const std::vector<int64_t>& ints(std::string_view key) const;
  /** i(key) if present, else `fallback`. */
  int64_t i_or(std::string_view key, int64_t fallback) const;

  const std::vector<std::pair<std::string, AttrValue>>& items() const { return items_; }
  bool empty() const { return items_.empty(); }
  bool operator==(const Attrs&) const = default;
  uint64_t hash() const;
  /** "{axes=[0], name=\"K\"}" or "" when empty. */
  std::string str() const;

private:
  const AttrValue* find(std::string_view key) const;
  std::vector<std::pair<std::string, AttrValue>> items_;
};

/** Formats a double so that it reads back exactly and always looks like a float ("1.0"). */
std::string format_double(double v);

} // namespace kiln::ir
