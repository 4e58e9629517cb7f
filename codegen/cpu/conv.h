#pragma once
// Convolutions for the CPU target: the three products of a stride-1 convolution (ir::ConvProduct)
// as register-blocked direct convolutions, with the window group's epilogue (bias, activation,
// their derivatives, an optimizer update) applied per image while its output is in L2 (forward,
// input gradient) or once the weight gradient's sums are in, never as a pass over memory.
//
// Each product is a matrix product whose one operand is read in place from a zero-padded copy
// of one image ("implicit im2col"): an output pixel's taps sit at fixed offsets from the pixel in
// the padded image, so with the output rows flattened over the padded width (the few columns
// past the image's edge are computed and dropped), MR consecutive output pixels read MR
// consecutive floats at every tap. The register tile is the GEMM's (codegen/cpu/gemm.h): MR
// pixels (broadcasts) x NR channels (vectors of the packed weights).
// - Forward, y = conv(x, w): rows are output pixels, depth the taps (c, ky, kx), columns the
//   output channels; weights packed [taps][channels] once per call.
// - Input gradient, dx = conv2d_input_grad(dy, w): the forward product of dy, zero-padded by
//   (k - 1) d - p, with the kernel flipped and its channels transposed.
// - Weight gradient, dw = conv2d_weight_grad(x, dy): rows are the taps, depth the output pixels
//   of every image, columns the output channels; each image's dy is packed pixel-major.
// Measurements: bench/conv/README.md.

#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "codegen/c_like.h"

namespace kiln::codegen {

/** A convolution product the direct convolution can compute (see conv_plan). */
struct ConvDesc {
  ir::NodeId node = 0;
  ir::ConvProduct product = ir::ConvProduct::None;
  /** The padded image (x, or dy for the input gradient) and the other operand. */
  ir::NodeId image = 0, other = 0;
  int64_t batch = 0; // the image's leading dim (ir::kBatch: N)
  /** The image's channels and size, its zero padding and the taps' dilation. */
  int64_t c = 0, h = 0, w = 0, ph = 0, pw = 0, dh = 1, dw = 1;
  /** Kernel size and the product's output channels and output size. */
  int64_t kh = 1, kw = 1, o = 0, oh = 0, ow = 0;
  ir::DType dtype = ir::DType::F32;
  /** `char*` C expression of 64-byte aligned scratch memory of conv_workspace_bytes(desc). */
  std::string workspace;
  /** CpuOptions::threads: above 1 the images split over the runtime's pool (kiln_parallel). */
  int threads = 1;
};

/** The direct convolution of window node `n`, when it applies (a stride-1, ungrouped product). */
std::optional<ConvDesc> conv_plan(const Schedule& sc, ir::NodeId n);

/** Workspace bytes of the direct convolution: packed weights or dy, the padded image, sums. */
int64_t conv_workspace_bytes(const ConvDesc& d);

/** Renders the epilogue at index `idx` of the product's output, where its value is `value`. */
using ConvEpilogue = std::function<void(const Index& idx, const std::string& value)>;

/**
 * Emits the direct convolution of `d` as one C block; `epilogue` runs at every output element as
 * soon as its value is final. Operands are read through `e` (ExprEmitter::value), so any stored,
 * leaf or inline node works.
 */
void emit_direct_conv(CodeWriter& w, ExprEmitter& e, const ConvDesc& d,
                      const ConvEpilogue& epilogue);

} // namespace kiln::codegen
