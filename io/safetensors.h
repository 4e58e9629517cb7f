#pragma once
// Checkpoints in the safetensors format (https://github.com/huggingface/safetensors), so that
// PyTorch, NumPy and JAX read what kiln's trainer saves, and kiln reads what they save.
//
// A file is an 8-byte little-endian size N, N bytes of JSON header, then the tensors' raw bytes
// (little-endian, row-major, packed). The header maps each tensor name to
// {"dtype": "F32", "shape": [2, 3], "data_offsets": [begin, end]} with offsets relative to the
// start of the data, plus an optional "__metadata__" object of string to string.
//
// kiln reads and writes the dtypes the IR has: F32, F64, I32, I64. A file holding any other
// safetensors dtype (F16, BF16, BOOL, U8, I8, I16, U16, U32, U64, F8_*) is rejected with a message
// naming the tensor and its dtype; convert such tensors to float32 or float64 before saving.

#include "base/error.h"
#include "ir/dtype.h"

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <initializer_list>
#include <map>
#include <span>
#include <string>
#include <type_traits>
#include <vector>

namespace kiln {

/** The C++ element type of each dtype: float, double, int32_t, int64_t. */
template <class T>
concept HostElement = std::is_same_v<T, float> || std::is_same_v<T, double> ||
    std::is_same_v<T, int32_t> || std::is_same_v<T, int64_t>;

/** The dtype whose elements are T. */
template <HostElement T>
constexpr ir::DType dtype_of() {
  if constexpr (std::is_same_v<T, float>)
    return ir::DType::F32;
  else if constexpr (std::is_same_v<T, double>)
    return ir::DType::F64;
  else if constexpr (std::is_same_v<T, int32_t>)
    return ir::DType::I32;
  else
    return ir::DType::I64;
}

/**
 * A tensor in host memory as a checkpoint stores it: dtype, shape (outermost first, row-major;
 * [] is a scalar) and the packed little-endian bytes. `bytes` must hold exactly
 * numel() * ir::dtype_bytes(dtype) bytes; save_safetensors() checks it.
 */
struct HostTensor {
  ir::DType dtype = ir::DType::F32;
  std::vector<int64_t> shape;
  std::vector<std::byte> bytes;

  /** Copies `values` into a tensor of `shape`. Throws ShapeError when the counts differ. */
  template <HostElement T>
  static HostTensor of(std::vector<int64_t> shape, std::span<const T> values) {
    HostTensor t{dtype_of<T>(), std::move(shape), {}};
    if (t.numel() != static_cast<int64_t>(values.size()))
      throw ShapeError(str("[HostTensor] shape ", shape_text(t.shape), " holds ", t.numel(),
                           " elements, got ", values.size(), " values"));
    t.bytes.resize(values.size_bytes());
    if (!values.empty())
      std::memcpy(t.bytes.data(), values.data(), values.size_bytes());
    return t;
  }
  /** As above, for `HostTensor::of<float>({2}, {1.f, 2.f})`. */
  template <HostElement T>
  static HostTensor of(std::vector<int64_t> shape, std::initializer_list<T> values) {
    return of<T>(std::move(shape), std::span<const T>(values.begin(), values.size()));
  }

  /**
   * The number of elements: the product of `shape` (1 for a scalar). Negative dims count as 0,
   * and a zero anywhere makes 0 whatever the other dims are (a header may say [2^62, 2^62, 0]).
   * Throws ShapeError when the product does not fit in int64_t.
   */
  int64_t numel() const {
    for (int64_t d : shape)
      if (d <= 0)
        return 0;
    int64_t n = 1;
    for (int64_t d : shape)
      if (__builtin_mul_overflow(n, d, &n))
        throw ShapeError(
            str("[HostTensor] shape ", shape_text(shape), " has more elements than int64_t holds"));
    return n;
  }

  /**
   * The elements as a T array, without a copy. Throws ShapeError when `dtype` is not T's or the
   * byte count does not match the shape. `bytes` comes from operator new, which aligns it for
   * every HostElement.
   */
  template <HostElement T>
  std::span<const T> view() const {
    check_view<T>();
    return {reinterpret_cast<const T*>(bytes.data()), bytes.size() / sizeof(T)};
  }
  /** As above, writable. */
  template <HostElement T>
  std::span<T> view() {
    check_view<T>();
    return {reinterpret_cast<T*>(bytes.data()), bytes.size() / sizeof(T)};
  }
  /** The elements copied into a vector; same checks as view(). */
  template <HostElement T>
  std::vector<T> to_vector() const {
    auto v = view<T>();
    return {v.begin(), v.end()};
  }

  /** "[2, 3]": how shapes read in messages. */
  static std::string shape_text(const std::vector<int64_t>& shape);

private:
  template <HostElement T>
  void check_view() const {
    if (dtype != dtype_of<T>())
      throw ShapeError(str("[HostTensor] cannot view a ", ir::to_string(dtype), " tensor as ",
                           ir::to_string(dtype_of<T>())));
    size_t need = 0;
    if (__builtin_mul_overflow(static_cast<size_t>(numel()), sizeof(T), &need) ||
        bytes.size() != need)
      throw ShapeError(str("[HostTensor] ", ir::to_string(dtype), " ", shape_text(shape), " needs ",
                           need, " bytes, has ", bytes.size()));
  }
};

/**
 * Writes `tensors` and `metadata` to `path` as a safetensors file that PyTorch's and NumPy's
 * safetensors load. The layout matches the reference writer byte for byte: tensors ordered by
 * dtype (I64, F64, F32, I32) then by name, compact JSON padded with spaces to a multiple of 8
 * bytes (so every tensor is aligned to its element size), "__metadata__" first and only when
 * `metadata` is not empty.
 *
 * The write is atomic: the bytes go to a temporary file in the same directory, which is fsynced
 * and then renamed over `path`. A failure at any point (or a crash) leaves an existing file at
 * `path` as it was, and a failure removes the temporary file.
 *
 * Throws kiln::Error("[checkpoint] <path>: cannot write: <reason>") for an I/O failure, a tensor
 * whose byte count does not match its dtype and shape, a negative dimension, a name or metadata
 * string that is not valid UTF-8, or a tensor named "__metadata__".
 */
void save_safetensors(const std::string& path, const std::map<std::string, HostTensor>& tensors,
                      const std::map<std::string, std::string>& metadata = {});

/** What a safetensors file holds: tensors by name and the "__metadata__" strings. */
struct Safetensors {
  std::map<std::string, HostTensor> tensors;
  std::map<std::string, std::string> metadata;
};

/**
 * Reads a safetensors file. Checks everything before using it: the header size against the
 * file and the 100,000,000-byte limit of the reference reader, the header as strict JSON (UTF-8,
 * no duplicate keys, nothing but spaces after the object), each entry's dtype, shape and
 * data_offsets (exactly those three keys), each tensor's byte count against dtype and shape, and
 * that the tensors' byte ranges tile the data exactly: no gap, no overlap, nothing after the last.
 *
 * Throws kiln::DataError("[checkpoint] <path>: <what is wrong>") for a file that cannot be read
 * or breaks any rule, and for dtypes other than F32, F64, I32, I64.
 */
Safetensors load_safetensors(const std::string& path);

} // namespace kiln
