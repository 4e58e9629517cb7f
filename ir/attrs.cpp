#include "ir/attrs.h"

#include <algorithm>
#include <bit>
#include <charconv>
#include <cmath>

#include "base/error.h"
#include "base/hash.h"
#include "ir/shape.h"

namespace kiln::ir {

Attrs& Attrs::set(std::string key, AttrValue v) {
  auto it = std::lower_bound(items_.begin(), items_.end(), key,
                             [](const auto& item, const std::string& k) { return item.first < k; });
  if (it != items_.end() && it->first == key)
    it->second = std::move(v);
  else
    items_.insert(it, {std::move(key), std::move(v)});
  return *this;
}

const AttrValue* Attrs::find(std::string_view key) const {
  for (const auto& [k, v] : items_)
    if (k == key)
      return &v;
  return nullptr;
}

template <class T>
static const T& get(const AttrValue* v, std::string_view key, const char* type) {
  KILN_ASSERT(v, "missing attribute '", key, "'");
  const T* p = std::get_if<T>(v);
  KILN_ASSERT(p, "attribute '", key, "' is not of type ", type);
  return *p;
}

int64_t Attrs::i(std::string_view key) const {
  return get<int64_t>(find(key), key, "int");
}
double Attrs::f(std::string_view key) const {
  return get<double>(find(key), key, "float");
}
const std::string& Attrs::s(std::string_view key) const {
  return get<std::string>(find(key), key, "string");
}
const std::vector<int64_t>& Attrs::ints(std::string_view key) const {
  return get<std::vector<int64_t>>(find(key), key, "int list");
}
int64_t Attrs::i_or(std::string_view key, int64_t fallback) const {
  return has(key) ? i(key) : fallback;
}

uint64_t Attrs::hash() const {
  uint64_t h = items_.size();
  for (const auto& [k, v] : items_) {
    h = hash_combine(h, hash_string(k));
    h = hash_combine(h, v.index());
    std::visit(
        [&](const auto& x) {
          using T = std::decay_t<decltype(x)>;
          if constexpr (std::is_same_v<T, int64_t>)
            h = hash_combine(h, static_cast<uint64_t>(x));
          else if constexpr (std::is_same_v<T, double>)
            h = hash_combine(h, std::bit_cast<uint64_t>(x == 0.0 ? 0.0 : x));
          else if constexpr (std::is_same_v<T, std::string>)
            h = hash_combine(h, hash_string(x));
          else
            for (int64_t e : x)
              h = hash_combine(h, static_cast<uint64_t>(e));
        },
        v);
  }
  return h;
}

std::string format_double(double v) {
  if (std::isnan(v))
    return "nan";
  if (std::isinf(v))
    return v > 0 ? "inf" : "-inf";
  char buf[64];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v); // shortest round-trip form
  std::string s(buf, end);
  if (s.find_first_of(".en") == std::string::npos)
    s += ".0";
  return s;
}

std::string Attrs::str() const {
  if (items_.empty())
    return "";
  std::string s = "{";
  bool first = true;
  for (const auto& [k, v] : items_) {
    if (!first)
      s += ", ";
    first = false;
    s += k + "=";
    std::visit(
        [&](const auto& x) {
          using T = std::decay_t<decltype(x)>;
          if constexpr (std::is_same_v<T, int64_t>)
            s += std::to_string(x);
          else if constexpr (std::is_same_v<T, double>)
            s += format_double(x);
          else if constexpr (std::is_same_v<T, std::string>)
            s += "\"" + x + "\"";
          else
            s += Shape(x).str(); // lists print as [0,1]; kBatch prints as N
        },
        v);
  }
  return s + "}";
}

} // namespace kiln::ir
