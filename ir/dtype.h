#pragma once
// Element types of IR values.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

namespace kiln::ir {

/** Element type of a value. Floats carry data; integers carry labels and indices. */
enum class DType : uint8_t { F32, F64, I32, I64 };

constexpr bool is_float(DType t) {
  return t == DType::F32 || t == DType::F64;
}

/** Bytes per element. */
constexpr int64_t dtype_bytes(DType t) {
  return t == DType::F64 || t == DType::I64 ? 8 : 4;
}

constexpr std::string_view to_string(DType t) {
  switch (t) {
  case DType::F32:
    return "f32";
  case DType::F64:
    return "f64";
  case DType::I32:
    return "i32";
  case DType::I64:
    return "i64";
  }
  return "?";
}

/** The C type a kernel uses for this dtype. */
constexpr std::string_view c_type(DType t) {
  switch (t) {
  case DType::F32:
    return "float";
  case DType::F64:
    return "double";
  case DType::I32:
    return "int";
  case DType::I64:
    return "long long";
  }
  return "?";
}

constexpr std::optional<DType> parse_dtype(std::string_view s) {
  for (DType t : {DType::F32, DType::F64, DType::I32, DType::I64})
    if (to_string(t) == s)
      return t;
  return std::nullopt;
}

/** Rounds a value to what the dtype can hold (the reference interpreter's f32 mode uses it). */
inline double round_to(DType t, double v) {
  switch (t) {
  case DType::F32:
    return static_cast<double>(static_cast<float>(v));
  case DType::F64:
    return v;
  case DType::I32:
    return static_cast<double>(static_cast<int32_t>(v));
  case DType::I64:
    return static_cast<double>(static_cast<int64_t>(v));
  }
  return v;
}

} // namespace kiln::ir
