#pragma once
// Window ops: convolutions and pooling over the two spatial dims of [N, C, H, W] values. Each
// output element folds a window of its operands, so codegen gives such an op a loop nest of its
// own (a group, as for a reduction) whose epilogue takes the elementwise work at the same index
// (a bias, an activation, their derivatives, an optimizer update).
//
// How one element is computed is the op's own knowledge: its WindowRule renders it as C through
// an ElementWriter, which the CPU and CUDA code generators implement, so the op's file holds its
// shape rule, derivative, reference evaluation and rendering together, and a renderer needs no
// list of ops.

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "ir/attrs.h"
#include "ir/shape.h"

namespace kiln::ir {

struct Node;

/** What a window op's rendering may ask of a code generator (codegen implements it). */
class ElementWriter {
public:
  virtual ~ElementWriter() = default;
  /** Operand `i` at `idx` (one C expression per dim) as a C expression; emits what it needs. */
  virtual std::string operand(size_t i, const std::vector<std::string>& idx) = 0;
  /** One statement. */
  virtual void line(const std::string& statement) = 0;
  /** Opens `head {`; values named inside are forgotten at close() (loop bodies, branches). */
  virtual void open(const std::string& head) = 0;
  virtual void close() = 0;
  /** A fresh C identifier starting with `stem`. */
  virtual std::string fresh(const std::string& stem) = 0;
  /** The C type of index variables ("long long" on the CPU, "int" in CUDA). */
  virtual std::string index_type() const = 0;
};

/** The products of a convolution y = conv(x, w), for a renderer with a faster loop for them. */
enum class ConvProduct : uint8_t {
  None,
  Forward,    // y from x (operand 0) and w (operand 1)
  InputGrad,  // dx from dy (operand 0) and w (operand 1)
  WeightGrad, // dw from x (operand 0) and dy (operand 1)
};

/** How a code generator computes a window op (OpDef::window). */
struct WindowRule {
  /**
   * Writes the statements that compute the element of node `n` at `idx` (one C expression per
   * output dim) and returns the C expression of its value. `in` are the operands' types.
   */
  std::string (*element)(ElementWriter& w, const Node& n, std::span<const Type> in,
                         const std::vector<std::string>& idx) = nullptr;
  /**
   * Each operand element is read by many output elements (a convolution reads each input pixel
   * once per output channel and kernel tap): operands are computed once into memory rather than
   * recomputed at every read.
   */
  bool reread_operands = false;
  /** Which product of a convolution the op is, if any. */
  ConvProduct conv = ConvProduct::None;
  /**
   * Elements of the last axis that share their operand reads (a pool adjoint's pixels of one
   * window): a renderer computes that many consecutive elements per loop iteration, so the
   * shared reads are made once and a vectorized loop reads strided instead of gathering.
   * nullptr: 1.
   */
  int64_t (*columns_together)(const Node& n) = nullptr;
  /**
   * The same along the next-to-last axis (a pool adjoint's window rows): with columns_together,
   * rows x columns elements per iteration, so each window's reads and argmax are made once.
   * nullptr: 1.
   */
  int64_t (*rows_together)(const Node& n) = nullptr;
};

/** Height and width of a 2-D window: kernel, stride, zero padding and dilation. */
struct Window2d {
  int64_t kh = 1, kw = 1, sh = 1, sw = 1, ph = 0, pw = 0, dh = 1, dw = 1;

  /** Output extent along H (w = false) or W (w = true) for an input extent `in`; < 1 if none. */
  int64_t out_extent(int64_t in, bool w) const;
  bool padded() const { return ph > 0 || pw > 0; }
};

/**
 * Reads "stride", "padding" and "dilation" ([h, w] lists, defaults 1, 0, 1) and the kernel size
 * from `kernel` ({kh, kw}). Throws kiln::ShapeError naming `op` when a list does not have two
 * entries or a value is out of range (stride and dilation >= 1, padding >= 0).
 */
Window2d window_attrs(std::string_view op, const Attrs& attrs, std::vector<int64_t> kernel);

/** Attributes of a 2-D window op: stride, padding, dilation as [h, w] lists. */
Attrs window_attrs_of(const Window2d& w);

} // namespace kiln::ir
