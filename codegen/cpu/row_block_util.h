#pragma once
// Internal to the row-block path (codegen/cpu/row_block.h): sizes and names its files share.

#include <cstdint>
#include <functional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "codegen/code_writer.h"
#include "codegen/schedule.h"
#include "codegen/share_groups.h"
#include "ir/node.h"

namespace kiln::codegen::row_block {

/** Rows per block without a batch hint, and the largest hint taken as the block. */
constexpr int64_t kDefaultRows = 8;
constexpr int64_t kMaxHintRows = 16;
/** A product's weights (B) stay in L1 across a block's rows up to this many elements. */
constexpr int64_t kMaxWeights = 64 * 64;
/** Partial sums of one Reduce group on the stack, in elements. */
constexpr int64_t kMaxAccumulator = 64 * 64;
/** The block's row arrays on the stack. */
constexpr int64_t kMaxStackBytes = 48 * 1024;
/** Accumulators and copied weights are padded to whole vectors of this many bytes. */
constexpr int64_t kVectorBytes = 64;
/** Products with fewer columns are dot products over the depth, one per column. */
constexpr int64_t kThinCols = 8;
/** A product's row tile: at most this many accumulator vectors, and rows. */
constexpr int64_t kTileRegisters = 20;
constexpr int64_t kMaxTile = 8;
/** Rows of fewer elements are not padded (no vector reads them whole). */
constexpr int64_t kMinPadded = 4;

inline int64_t lanes(ir::DType t) {
  return kVectorBytes / ir::dtype_bytes(t);
}
/** `n` rounded up to whole vectors of `t`. */
inline int64_t padded(int64_t n, ir::DType t) {
  return (n + lanes(t) - 1) / lanes(t) * lanes(t);
}

/** What the row-block source needs besides the prelude: vectors and their loads and stores. */
inline constexpr const char* kVectors =
    R"KILN(// Whole vectors of the row blocks (GCC/Clang vector extensions: no headers, any ISA).
// Loads and stores go through pointers to these types, which may alias their elements and sit
// anywhere (no function returns one: that would change the ABI where AVX-512 is off).
typedef float kiln_vf __attribute__((vector_size(64), aligned(4), __may_alias__));
typedef double kiln_vd __attribute__((vector_size(64), aligned(8), __may_alias__));
#ifdef __clang__
#define KILN_LANES _Pragma("clang loop vectorize(enable) vectorize_predicate(enable) unroll(disable)")
// The rows of a block are independent iterations that the core overlaps by itself; unrolled,
// they only multiplied the code that Clang had to compile.
#define KILN_ROWS _Pragma("clang loop vectorize(disable) interleave(disable) unroll(disable)")
#define KILN_SHUFFLE_F(a, b, ...) __builtin_shufflevector(a, b, __VA_ARGS__)
#define KILN_SHUFFLE_D(a, b, ...) __builtin_shufflevector(a, b, __VA_ARGS__)
#else
#define KILN_LANES _Pragma("GCC ivdep")
#define KILN_ROWS
typedef int kiln_vif __attribute__((vector_size(64)));
typedef long long kiln_vid __attribute__((vector_size(64)));
#define KILN_SHUFFLE_F(a, b, ...) __builtin_shuffle(a, b, (kiln_vif){__VA_ARGS__})
#define KILN_SHUFFLE_D(a, b, ...) __builtin_shuffle(a, b, (kiln_vid){__VA_ARGS__})
#endif

)KILN";

/** The vector type of `dt` in the generated source, and the macro that shuffles two of them. */
inline std::string vector_type(ir::DType dt) {
  return dt == ir::DType::F64 ? "kiln_vd" : "kiln_vf";
}
inline std::string shuffle_macro(ir::DType dt) {
  return dt == ir::DType::F64 ? "KILN_SHUFFLE_D" : "KILN_SHUFFLE_F";
}
/** The vector at `address` (a C pointer expression), as an rvalue. */
inline std::string load(ir::DType dt, const std::string& address) {
  return "(*(const " + vector_type(dt) + "*)(" + address + "))";
}
/** The statement storing vector `v` at `address`. */
inline std::string store(ir::DType dt, const std::string& address, const std::string& v) {
  return "*(" + vector_type(dt) + "*)(" + address + ") = " + v + ";";
}

/** Appends the part of the writer's text since `*mark` to `blocks` and moves the mark. */
inline void cut(const CodeWriter& w, size_t* mark, std::vector<std::string>& blocks) {
  blocks.push_back(w.str().substr(*mark));
  *mark = w.str().size();
}

/** Functions of `s` not yet in `out` (sharing runs twice; a block could repeat across both). */
inline void merge_functions(const SharedGroups& s, SharedGroups& out) {
  for (const auto& [name, text] : s.function_text)
    if (out.function_text.emplace(name, text).second)
      out.functions += text;
}

/** Group gi's partial sums and padded weights in the generated source. */
inline std::string acc_name(size_t gi) {
  return row_block_array_name(RowBlockArray::Acc, gi);
}
inline std::string bt_name(size_t gi) {
  return row_block_array_name(RowBlockArray::Bt, gi);
}
/** A flat result's partial sums copied to row-major order (row_major_sums). */
inline std::string sums_name(size_t gi) {
  return row_block_array_name(RowBlockArray::Sums, gi);
}

/** Names in the generated source, ordered, looked up by string_view as well. */
using NameSet = std::set<std::string, std::less<>>;

/**
 * The identifiers of `text` that match `keep`, once each. Called on whole steps, several times
 * per kernel, so a name costs an allocation only when kept.
 */
inline NameSet identifiers(std::string_view text,
                           const std::function<bool(std::string_view)>& keep) {
  auto start = [](char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; };
  auto inner = [&](char c) { return start(c) || (c >= '0' && c <= '9'); };
  NameSet out;
  for (size_t i = 0; i < text.size();) {
    if (!start(text[i])) {
      ++i;
      continue;
    }
    size_t j = i;
    while (j < text.size() && inner(text[j]))
      ++j;
    const std::string_view id = text.substr(i, j - i);
    if (keep(id) && out.find(id) == out.end())
      out.emplace(id);
    i = j;
  }
  return out;
}

/** Whether `id` has only digits from `from` on (and at least one). */
inline bool digits_after(std::string_view id, size_t from) {
  if (id.size() <= from)
    return false;
  for (size_t i = from; i < id.size(); ++i)
    if (id[i] < '0' || id[i] > '9')
      return false;
  return true;
}

/** Whether `id` names a slot's buffer (b<k>) in the generated source. */
inline bool is_slot(std::string_view id) {
  return id.size() > 1 && id[0] == 'b' && digits_after(id, 1);
}

/** Dims after the batch dim. */
inline std::vector<int64_t> row_dims(const ir::Shape& s) {
  return {s.dims().begin() + 1, s.dims().end()};
}

/** A MatMul node's operands and dims. */
struct Product {
  ir::NodeId a, b;
  bool ta, tb;
  int64_t rows, cols, depth;
};

inline Product product(const ir::Graph& g, ir::NodeId m) {
  const ir::Node& n = g.node(m);
  Product p{n.inputs[0],
            n.inputs[1],
            n.attrs.i("ta") != 0,
            n.attrs.i("tb") != 0,
            n.type.shape[0],
            n.type.shape[1],
            0};
  p.depth = g.node(p.a).type.shape[p.ta ? 0 : 1];
  return p;
}

/**
 * Whether the result of Reduce-phase group `grp` (domain [R, C], no dim of 1) may run as one loop
 * over its R*C elements in row-major order, index (0, q): every value its epilogue reads has the
 * domain's shape and is read elementwise, or is one element broadcast. The update of a [10, 14]
 * weight then takes 9 whole vectors instead of 10 masked rows of 14 (its sqrt and division are
 * the dearest work of the step at the course's sizes).
 */
bool flat_result(const Schedule& sc, const Group& grp);

} // namespace kiln::codegen::row_block
