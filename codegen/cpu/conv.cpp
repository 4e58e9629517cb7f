#include "codegen/cpu/conv.h"

#include <algorithm>

#include "base/error.h"
#include "codegen/cpu/parallel.h"

namespace kiln::codegen {

namespace {

using ir::ConvProduct;

// The register tile of codegen/cpu/gemm.cpp: NR = 128 bytes of columns (two 512-bit vectors) and
// up to 14 rows with AVX-512 (28 accumulators, 2 B vectors, 2 broadcasts: the 32 zmm registers);
// with AVX 2 (clang) or 3 (GCC) rows, with SSE 1 (see kTiles there).
constexpr int kTileBytes = 128;
constexpr int kMaxRows = 14;
constexpr struct {
  const char* condition;
  int rows, vector_bytes;
} kTiles[] = {{"defined(__AVX512F__)", kMaxRows, 64},
              {"defined(__AVX__) && defined(__clang__)", 2, 32},
              {"defined(__AVX__)", 3, 32},
              {nullptr, 1, 16}};

int64_t align64(int64_t bytes) {
  return (bytes + 63) & ~int64_t{63};
}
std::string ll(int64_t v) {
  return std::to_string(v);
}
std::string c_min(const std::string& a, const std::string& b) {
  return "(" + a + " < " + b + " ? " + a + " : " + b + ")";
}

/** Sizes derived from a ConvDesc. */
struct Geometry {
  int64_t nr, panels, opad, taps, window, hp, wp, image, pflat;
  /** Forward: pixels per tile with AVX-512 (an output row in equal parts of at most 14). */
  int64_t row_tile;
  /** Weight gradient: a channel's taps in blocks of at most 14 rows. */
  int64_t blocks;
};

Geometry geometry(const ConvDesc& d) {
  Geometry g{};
  g.nr = kTileBytes / ir::dtype_bytes(d.dtype);
  g.panels = (d.o + g.nr - 1) / g.nr;
  g.opad = g.panels * g.nr;
  g.window = d.kh * d.kw;
  g.taps = d.c * g.window;
  g.hp = d.h + 2 * d.ph;
  g.wp = d.w + 2 * d.pw;
  // The padded image plus slack for a tile's rows past the last pixel.
  g.image = d.c * g.hp * g.wp + kMaxRows + 16;
  g.pflat = (d.oh - 1) * g.wp + d.ow;
  const int64_t parts = (d.ow + kMaxRows - 1) / kMaxRows;
  g.row_tile = (d.ow + parts - 1) / parts;
  g.blocks = (g.window + kMaxRows - 1) / kMaxRows;
  return g;
}

/**
 * The workspace: what every chunk of images shares (the forward's packed weights), then one area
 * per worker (codegen::kCpuMaxWorkers of them when the images split over threads, else one) with
 * its padded image, and for the weight gradient its packed dy and its partial sums, else the
 * image's output (kiln_out, before the epilogue).
 */
struct Layout {
  int64_t shared_bytes, image_offset, dy_offset, part_offset, chunk_bytes, total;
};

/** Workspace areas: one per worker of the pool when the images split over threads. */
int64_t workers(const ConvDesc& d) {
  return d.threads > 1 ? kCpuMaxWorkers : 1;
}

Layout layout(const ConvDesc& d) {
  const Geometry g = geometry(d);
  const int64_t e = ir::dtype_bytes(d.dtype);
  const bool wgrad = d.product == ConvProduct::WeightGrad;
  Layout l{};
  l.shared_bytes = wgrad ? 0 : align64(g.panels * g.taps * g.nr * e);
  l.image_offset = 0;
  l.dy_offset = align64(g.image * e);
  l.part_offset = l.dy_offset + (wgrad ? align64(g.panels * g.pflat * g.nr * e) : 0);
  l.chunk_bytes = l.part_offset + align64((wgrad ? g.taps * g.opad : d.o * d.oh * d.ow) * e);
  l.total = l.shared_bytes + workers(d) * l.chunk_bytes;
  return l;
}

class ConvEmitter {
public:
  ConvEmitter(CodeWriter& w, ExprEmitter& e, const ConvDesc& d)
      : w_(w), e_(e), d_(d), g_(geometry(d)), t_(c_type_of(d.dtype)), zero_(c_literal(0, d.dtype)),
        name_(std::to_string(d.node)) {}

  void emit(const ConvEpilogue& epilogue) {
    static constexpr const char* kWhat[] = {"", "forward", "input gradient", "weight gradient"};
    w_.line(str("// direct convolution (", kWhat[static_cast<int>(d_.product)], "): ", d_.c,
                " channels of ", d_.h, "x", d_.w, " padded by ", d_.ph, "x", d_.pw, ", ", d_.kh,
                "x", d_.kw, " taps (dilation ", d_.dh, "x", d_.dw, "), ", d_.o,
                " output channels in panels of ", g_.nr, ", output ", d_.oh, "x", d_.ow,
                d_.threads > 1 ? "; images over threads" : ""));
    w_.open("");
    macros();
    const Layout l = layout(d_);
    w_.line("char* kiln_chunks = " + d_.workspace + " + " + ll(l.shared_bytes) + ";");
    if (d_.product == ConvProduct::WeightGrad) {
      weight_tiles();
      dy_transpose();
      weight_grad(epilogue, l);
    } else {
      w_.line(t_ + "* __restrict kiln_pk = (" + t_ + "*)(" + d_.workspace + ");");
      forward_tile();
      pack_weights();
      forward(epilogue, l);
    }
    w_.close();
  }

private:
  /** One preprocessor branch of a chain: "#if c", "#elif c" or "#else". */
  static std::string branch(const char* condition, bool first) {
    return condition ? std::string(first ? "#if " : "#elif ") + condition : "#else";
  }

  void loop(const std::string& v, const std::string& from, const std::string& to,
            const std::string& step = "1", const char* pragma = "KILN_ROLLED") {
    w_.line(pragma);
    w_.open("for (long long " + v + " = " + from + "; " + v + " < " + to + "; " + v +
            (step == "1" ? "++" : " += " + step) + ")");
  }

  void macros() {
    // The same macros as the blocked GEMM's (codegen/cpu/gemm.cpp), defined once per unit.
    for (const char* l :
         {"#ifndef KILN_WIDE_VECTORS", "#ifdef __clang__",
          "#define KILN_WIDE_VECTORS __attribute__((min_vector_width(512)))",
          "#define KILN_ROLLED _Pragma(\"clang loop unroll(disable)\")",
          "#define KILN_ROLLED_VECTOR _Pragma(\"clang loop vectorize(enable) unroll(disable)\")",
          "#else", "#define KILN_WIDE_VECTORS", "#define KILN_ROLLED",
          "#define KILN_ROLLED_VECTOR _Pragma(\"GCC ivdep\")", "#endif", "#endif",
          // The transposed store's lane shuffles (GCC's builtin takes an index vector, kiln_vidx).
          "#ifndef KILN_ZIP", "#ifdef __clang__",
          "#define KILN_ZIP(a, b, ...) __builtin_shufflevector(a, b, __VA_ARGS__)", "#else",
          "#define KILN_ZIP(a, b, ...) __builtin_shuffle(a, b, (kiln_vidx){__VA_ARGS__})", "#endif",
          "#endif",
          // A tile's pixels (12 or 13) are less than one AVX-512 vector: masked, not scalar.
          "#ifndef KILN_MASKED_VECTOR", "#ifdef __clang__",
          "#define KILN_MASKED_VECTOR _Pragma(\"clang loop vectorize(enable) "
          "vectorize_predicate(enable) unroll(disable)\")",
          "#else", "#define KILN_MASKED_VECTOR _Pragma(\"GCC ivdep\")", "#endif", "#endif"})
      w_.line(l);
  }

  /**
   * Opens the loop over the images of one worker, [kiln_n0, kiln_n1), with its own area of the
   * workspace (kiln_area): with threads, the body of a lambda that kiln_parallel
   * (codegen/cpu/parallel.h) runs on the runtime's pool; close with close_images().
   */
  void open_images(const Layout& l) {
    if (d_.threads > 1) {
      w_.open("auto kiln_images = [&](long long kiln_n0, long long kiln_n1, int kiln_chunk)");
    } else {
      w_.open("");
      w_.line("const long long kiln_n0 = 0, kiln_n1 = " + c_dim(d_.batch) + ";");
      w_.line("const int kiln_chunk = 0;");
    }
    w_.line("char* kiln_area = kiln_chunks + kiln_chunk * " + ll(l.chunk_bytes) + ";");
    w_.line(t_ + "* __restrict kiln_xp = (" + t_ + "*)(kiln_area + " + ll(l.image_offset) + ");");
    fill("kiln_xp", g_.image);
  }
  void close_images() {
    if (d_.threads <= 1) {
      w_.close();
      return;
    }
    w_.close(";");
    // Threads pay when the images' multiply-adds reach codegen::kCpuParallelFlops.
    const double per_image = 2.0 * static_cast<double>(d_.o * d_.oh * d_.ow * d_.c * d_.kh * d_.kw);
    w_.line("kiln_parallel(" + c_dim(d_.batch) + ", (double)" + c_dim(d_.batch) + " * " +
            str(per_image) + ", kiln_images);");
  }

  /** `v = 0` over `count` elements of `name`. */
  void fill(const std::string& name, int64_t count) {
    loop("kiln_z", "0", ll(count), "1", "KILN_ROLLED_VECTOR");
    w_.line(name + "[kiln_z] = " + zero_ + ";");
    w_.close();
  }

  /** Declares a kiln_vec type of `vector_bytes` and the names of a tile's accumulators. */
  std::string vec_type(int vector_bytes) const {
    return "typedef " + t_ + " kiln_vec __attribute__((vector_size(" + ll(vector_bytes) +
           "), __may_alias__));";
  }
  static std::string acc(int64_t r, int64_t v) { return "c" + ll(r) + "_" + ll(v); }

  /**
   * The rows [first, first + rows) of a tile: accumulators loaded from c (row stride cs), the
   * depth loop (kept rolled: unrolled, the 28 accumulators spill), stored back. `a_at(r)` is row
   * r's operand at depth k, `b_row` the address of B's row k.
   */
  void tile_pass(int64_t first, int64_t rows, int vector_bytes, const std::string& cs,
                 const std::function<std::string(int64_t)>& a_at, const std::string& b_row,
                 const std::string& setup, bool transposed = false) {
    const int64_t lanes = vector_bytes / ir::dtype_bytes(d_.dtype), nv = g_.nr / lanes;
    auto at = [&](int64_t r, int64_t v) {
      return "*(kiln_vec*)(c + " + ll(r) + " * " + cs + (v ? " + " + ll(v * lanes) : "") + ")";
    };
    w_.open("");
    for (int64_t r = first; r < first + rows; ++r)
      for (int64_t v = 0; v < nv; ++v)
        w_.line("kiln_vec " + acc(r, v) + " = " + (transposed ? "{}" : at(r, v)) + ";");
    w_.line("KILN_ROLLED");
    w_.open("for (long long k = 0; k < kc; ++k)");
    if (!setup.empty())
      w_.line(setup);
    for (int64_t v = 0; v < nv; ++v)
      w_.line("const kiln_vec bv" + ll(v) + " = *(const kiln_vec*)(" + b_row +
              (v ? " + " + ll(v * lanes) : "") + ");");
    for (int64_t r = first; r < first + rows; ++r) {
      std::string line;
      for (int64_t v = 0; v < nv; ++v)
        line += (v ? " " : "") + acc(r, v) + " += " + a_at(r) + " * bv" + ll(v) + ";";
      w_.line(line);
    }
    w_.close();
    if (transposed)
      transposed_store(rows, lanes, nv);
    else
      for (int64_t r = first; r < first + rows; ++r)
        for (int64_t v = 0; v < nv; ++v)
          w_.line(at(r, v) + " = " + acc(r, v) + ";");
    w_.close();
  }

  /** Pixels of a forward tile per channel in c: the tile's rows rounded up to whole vectors. */
  static int64_t pixel_stride(int64_t rows, int64_t lanes) {
    return (rows + lanes - 1) / lanes * lanes;
  }

  /**
   * Stores the accumulators (a row per pixel, vectors over channels) as c[channel][pixel], pixels
   * pixel_stride apart, so the epilogue reads a channel's pixels as one vector instead of a
   * gather (13 lanes of a 128-byte stride, 3 cycles per element: 13% of W5's conv2 forward). Each
   * block of `lanes` rows transposes by log2(lanes) rounds of interleaving row i with row
   * i + lanes/2; rows past the tile are zeros.
   */
  void transposed_store(int64_t rows, int64_t lanes, int64_t nv) {
    const int64_t stride = pixel_stride(rows, lanes);
    w_.line("const kiln_vec kiln_zero = {};");
    for (int64_t v = 0; v < nv; ++v)
      for (int64_t block = 0; block < stride; block += lanes) {
        std::vector<std::string> cur;
        for (int64_t r = block; r < block + lanes; ++r)
          cur.push_back(r < rows ? acc(r, v) : "kiln_zero");
        w_.open("");
        cur = transpose(cur);
        for (int64_t ch = 0; ch < lanes; ++ch)
          w_.line("*(kiln_vec*)(c + " + ll((v * lanes + ch) * stride + block) + ") = " + cur[ch] +
                  ";");
        w_.close();
      }
  }

  /**
   * Emits the transpose of the lanes x lanes matrix whose rows are the vectors `rows`: log2(lanes)
   * rounds, each interleaving row i with row i + lanes/2 (low halves, then high halves). Returns
   * the names of its columns.
   */
  std::vector<std::string> transpose(std::vector<std::string> rows) {
    const int64_t lanes = static_cast<int64_t>(rows.size()), half = lanes / 2;
    std::string lo, hi;
    for (int64_t k = 0; k < half; ++k) {
      lo += ", " + ll(k) + ", " + ll(lanes + k);
      hi += ", " + ll(half + k) + ", " + ll(lanes + half + k);
    }
    for (int64_t round = 0; lanes >> round > 1; ++round) {
      std::vector<std::string> next;
      for (int64_t i = 0; i < half; ++i)
        for (const std::string* order : {&lo, &hi}) {
          next.push_back("t" + ll(round) + "_" + ll(next.size()));
          w_.line("const kiln_vec " + next.back() + " = KILN_ZIP(" + rows[i] + ", " +
                  rows[i + half] + *order + ");");
        }
      rows = next;
    }
    return rows;
  }

  /** The index vector type KILN_ZIP needs under GCC, for the element type's lanes. */
  std::string index_type(int vector_bytes) const {
    return std::string("typedef ") + (d_.dtype == ir::DType::F64 ? "long long" : "int") +
           " kiln_vidx __attribute__((vector_size(" + ll(vector_bytes) +
           "))); (void)sizeof(kiln_vidx);";
  }

  /**
   * Weight gradient: the transposing copy of dy into its packed [pixel][NR] panels, by blocks of
   * `lanes` channels x `lanes` pixels: run() reads a block from kiln_blk ([channel][pixel],
   * gathered row by row), transposes it in registers and stores the first `pixels` pixels'
   * vectors `NR` apart. Element by element, the copy's stores a panel row apart took 1 ms of W5's
   * 7.6 ms conv2 weight gradient.
   */
  void dy_transpose() {
    w_.open("struct kiln_dypack_" + name_);
    w_.open("KILN_WIDE_VECTORS static void run(const " + t_ + "* __restrict blk, " + t_ +
            "* __restrict dst, long long pixels)");
    for (const auto& tile : kTiles) {
      w_.line(branch(tile.condition, &tile == kTiles));
      w_.line(vec_type(tile.vector_bytes));
      w_.line(index_type(tile.vector_bytes));
      const int64_t lanes = tile.vector_bytes / ir::dtype_bytes(d_.dtype);
      std::vector<std::string> rows;
      for (int64_t r = 0; r < lanes; ++r) {
        rows.push_back("r" + ll(r));
        w_.line("const kiln_vec r" + ll(r) + " = *(const kiln_vec*)(blk + " + ll(r * lanes) + ");");
      }
      rows = transpose(rows);
      for (int64_t px = 0; px < lanes; ++px)
        w_.line((px ? "if (pixels > " + ll(px) + ") " : std::string()) + "*(kiln_vec*)(dst + " +
                ll(px * g_.nr) + ") = " + rows[px] + ";");
    }
    w_.line("#endif");
    w_.close();
    w_.close(";");
    for (const auto& tile : kTiles) {
      w_.line(branch(tile.condition, &tile == kTiles));
      w_.line("const long long kiln_lanes = " + ll(tile.vector_bytes / ir::dtype_bytes(d_.dtype)) +
              ";");
    }
    w_.line("#endif");
  }

  /** Packs image kiln_n's dy (see dy_transpose) into kiln_pk. */
  void pack_dy() {
    w_.line(t_ + " kiln_blk[16 * 16] __attribute__((aligned(64)));");
    loop("kiln_o0", "0", ll(d_.o), "kiln_lanes");
    w_.line("const long long kiln_on = " + c_min(ll(d_.o) + " - kiln_o0", "kiln_lanes") + ";");
    // Channels past the last are zeros in the panel: so in the block.
    w_.line("for (long long kiln_z = kiln_on * kiln_lanes; kiln_z < kiln_lanes * kiln_lanes; "
            "++kiln_z) kiln_blk[kiln_z] = " +
            zero_ + ";");
    loop("kiln_y", "0", ll(d_.oh));
    loop("kiln_x0", "0", ll(d_.ow), "kiln_lanes");
    w_.line("const long long kiln_valid = " + c_min("kiln_lanes", ll(d_.ow) + " - kiln_x0") + ";");
    loop("kiln_oo", "0", "kiln_on");
    loop("kiln_t", "0", "kiln_valid", "1", "KILN_MASKED_VECTOR");
    e_.push_scope();
    w_.line("kiln_blk[kiln_oo * kiln_lanes + kiln_t] = " +
            e_.value(d_.other, {"kiln_n", "(kiln_o0 + kiln_oo)", "kiln_y", "(kiln_x0 + kiln_t)"}) +
            ";");
    e_.pop_scope();
    w_.close();
    w_.close();
    w_.line("kiln_dypack_" + name_ + "::run(kiln_blk, kiln_pk + kiln_o0 / " + ll(g_.nr) + " * " +
            ll(g_.pflat * g_.nr) + " + (kiln_y * " + ll(g_.wp) + " + kiln_x0) * " + ll(g_.nr) +
            " + kiln_o0 % " + ll(g_.nr) + ", kiln_valid);");
    w_.close();
    w_.close();
    w_.close();
  }

  /**
   * Forward and input gradient: c[kiln_mr, NR] += A x B over kc taps with A(r, k) = a[off[k] + r]
   * (kiln_mr consecutive pixels) and B row k at b + k NR. kiln_mr: a part of an output row with
   * AVX-512, else the instruction set's rows.
   */
  void forward_tile() {
    // Taps in (ky, c, kx) order, so that those of one kernel row are a contiguous range (an
    // output row next to the zero padding skips the kernel rows that read only padding).
    std::string offsets;
    for (int64_t k = 0; k < g_.taps; ++k) {
      const int64_t ky = k / (d_.c * d_.kw), c = k / d_.kw % d_.c, kx = k % d_.kw;
      offsets += (k ? "," : "") + ll(c * g_.hp * g_.wp + ky * d_.dh * g_.wp + kx * d_.dw);
    }
    // The taps' offsets in the padded image: tap (c, ky, kx) at c hp wp + ky dh wp + kx dw.
    w_.line("static const int kiln_off[" + ll(g_.taps) + "] = {" + offsets + "};");
    for (const auto& tile : kTiles) {
      w_.line(branch(tile.condition, &tile == kTiles));
      const int64_t rows = tile.rows == kMaxRows ? g_.row_tile : tile.rows;
      w_.line("const long long kiln_mr = " + ll(rows) + ", kiln_cs = " +
              ll(pixel_stride(rows, tile.vector_bytes / ir::dtype_bytes(d_.dtype))) + ";");
    }
    w_.line("#endif");
    w_.open("struct kiln_ctile_" + name_);
    w_.open("KILN_WIDE_VECTORS static void run(const " + t_ + "* __restrict a, const int* " +
            "__restrict off, const " + t_ + "* __restrict b, " + t_ +
            "* __restrict c, long long kc)");
    for (const auto& tile : kTiles) {
      w_.line(branch(tile.condition, &tile == kTiles));
      w_.line(vec_type(tile.vector_bytes));
      w_.line(index_type(tile.vector_bytes));
      const int64_t rows = tile.rows == kMaxRows ? g_.row_tile : tile.rows;
      tile_pass(
          0, rows, tile.vector_bytes, ll(g_.nr), [](int64_t r) { return "ak[" + ll(r) + "]"; },
          "b + k * " + ll(g_.nr), "const " + t_ + "* __restrict ak = a + off[k];", true);
    }
    w_.line("#endif");
    w_.close();
    w_.close(";");
  }

  /**
   * Weight gradient: one tile per block of a channel's taps (at most 14 rows): c[rows, NR] += A x B
   * over kc pixels, A(r, q) = a[q + offset of tap r] (the offsets are constants, so the depth loop
   * needs one pointer), B row q at b + q NR, c's rows `cs` apart. With fewer rows per tile than
   * the block has, the block is done in several passes over the pixels.
   */
  void weight_tiles() {
    for (int64_t blk = 0; blk < g_.blocks; ++blk) {
      const int64_t first = blk * kMaxRows, rows = std::min<int64_t>(kMaxRows, g_.window - first);
      w_.open("struct kiln_wtile_" + name_ + "_" + ll(blk));
      w_.open("KILN_WIDE_VECTORS static void run(const " + t_ + "* __restrict a, const " + t_ +
              "* __restrict b, " + t_ + "* __restrict c, long long cs, long long kc)");
      for (const auto& tile : kTiles) {
        w_.line(branch(tile.condition, &tile == kTiles));
        w_.line(vec_type(tile.vector_bytes));
        for (int64_t pass = 0; pass < rows; pass += tile.rows)
          tile_pass(
              pass, std::min<int64_t>(tile.rows, rows - pass), tile.vector_bytes, "cs",
              [&](int64_t r) {
                const int64_t t = first + r, ky = t / d_.kw, kx = t % d_.kw;
                return "ak[" + ll(ky * d_.dh * g_.wp + kx * d_.dw) + "]";
              },
              "b + k * " + ll(g_.nr), "const " + t_ + "* __restrict ak = a + k;");
      }
      w_.line("#endif");
      w_.close();
      w_.close(";");
    }
  }

  /** The weight of tap (c, ky, kx) for output channel j, as the product reads it. */
  std::string weight(const std::string& c, const std::string& ky, const std::string& kx,
                     const std::string& j) {
    if (d_.product == ConvProduct::Forward)
      return e_.value(d_.other, {j, c, ky, kx});
    // The input gradient: dy's channels are w's outputs, the kernel flipped.
    return e_.value(d_.other, {c, j, "(" + ll(d_.kh - 1) + " - " + ky + ")",
                               "(" + ll(d_.kw - 1) + " - " + kx + ")"});
  }

  /** Packs the weights [panel][tap][NR], zero past the last output channel. */
  void pack_weights() {
    loop("kiln_jp", "0", ll(g_.panels));
    w_.line("const long long kiln_cols = " +
            c_min(ll(d_.o) + " - kiln_jp * " + ll(g_.nr), ll(g_.nr)) + ";");
    loop("kiln_c0", "0", ll(d_.c));
    loop("kiln_ky", "0", ll(d_.kh));
    loop("kiln_kx", "0", ll(d_.kw));
    w_.line(t_ + "* __restrict kiln_dst = kiln_pk + (kiln_jp * " + ll(g_.taps) + " + (kiln_ky * " +
            ll(d_.c) + " + kiln_c0) * " + ll(d_.kw) + " + kiln_kx) * " + ll(g_.nr) + ";");
    loop("kiln_jj", "0", "kiln_cols");
    e_.push_scope();
    w_.line("kiln_dst[kiln_jj] = " +
            weight("kiln_c0", "kiln_ky", "kiln_kx", "(kiln_jp * " + ll(g_.nr) + " + kiln_jj)") +
            ";");
    e_.pop_scope();
    w_.close();
    w_.line("for (long long kiln_jj = kiln_cols; kiln_jj < " + ll(g_.nr) +
            "; ++kiln_jj) kiln_dst[kiln_jj] = " + zero_ + ";");
    w_.close();
    w_.close();
    w_.close();
    w_.close();
  }

  /** Copies image kiln_n into the interior of the padded image (its border stays zero). */
  void pack_image() {
    loop("kiln_c0", "0", ll(d_.c));
    loop("kiln_y", "0", ll(d_.h));
    w_.line(t_ + "* __restrict kiln_row = kiln_xp + kiln_c0 * " + ll(g_.hp * g_.wp) +
            " + (kiln_y + " + ll(d_.ph) + ") * " + ll(g_.wp) + " + " + ll(d_.pw) + ";");
    loop("kiln_x", "0", ll(d_.w), "1", "KILN_ROLLED_VECTOR");
    e_.push_scope();
    w_.line("kiln_row[kiln_x] = " + e_.value(d_.image, {"kiln_n", "kiln_c0", "kiln_y", "kiln_x"}) +
            ";");
    e_.pop_scope();
    w_.close();
    w_.close();
    w_.close();
  }

  /**
   * Forward and input gradient: per image and output row, tiles of kiln_mr pixels (the row in
   * equal parts with AVX-512, so no pixel is computed twice) x NR channels over all taps, into
   * the image's output kiln_out (in L2); then the epilogue over it channel by channel. Tile by
   * tile, the epilogue's loads and stores ran along 32-64 channel planes at once, faster than
   * the prefetchers follow: 1.2 ms of W5's 7.8 ms conv2 input gradient (its relu' reads conv1's
   * output), ~0.5 ms by channels.
   */
  void forward(const ConvEpilogue& epilogue, const Layout& l) {
    open_images(l);
    w_.line(t_ + " kiln_c[kiln_cs * " + ll(g_.nr) + "] __attribute__((aligned(64)));");
    w_.line(t_ + "* __restrict kiln_out = (" + t_ + "*)(kiln_area + " + ll(l.part_offset) + ");");
    loop("kiln_n", "kiln_n0", "kiln_n1");
    pack_image();
    loop("kiln_oy", "0", ll(d_.oh));
    // Kernel rows ky whose image row oy + ky dh is padding contribute nothing: skip them.
    const int64_t per_row = d_.c * d_.kw;
    w_.line("long long kiln_ky0 = 0, kiln_ky1 = " + ll(d_.kh) + ";");
    if (d_.ph > 0) {
      w_.line("while (kiln_oy + kiln_ky0 * " + ll(d_.dh) + " < " + ll(d_.ph) + ") ++kiln_ky0;");
      w_.line("while (kiln_ky1 > kiln_ky0 && kiln_oy + (kiln_ky1 - 1) * " + ll(d_.dh) +
              " >= " + ll(d_.ph + d_.h) + ") --kiln_ky1;");
    }
    loop("kiln_x0", "0", ll(d_.ow), "kiln_mr");
    w_.line("const long long kiln_valid = " + c_min("kiln_mr", ll(d_.ow) + " - kiln_x0") + ";");
    loop("kiln_jp", "0", ll(g_.panels));
    w_.line("kiln_ctile_" + name_ + "::run(kiln_xp + kiln_oy * " + ll(g_.wp) +
            " + kiln_x0, kiln_off + kiln_ky0 * " + ll(per_row) + ", kiln_pk + kiln_jp * " +
            ll(g_.taps * g_.nr) + " + kiln_ky0 * " + ll(per_row * g_.nr) +
            ", kiln_c, (kiln_ky1 - kiln_ky0) * " + ll(per_row) + ");");
    w_.line("const long long kiln_cols = " +
            c_min(ll(d_.o) + " - kiln_jp * " + ll(g_.nr), ll(g_.nr)) + ";");
    loop("kiln_jj", "0", "kiln_cols");
    loop("kiln_t", "0", "kiln_valid", "1", "KILN_MASKED_VECTOR");
    w_.line("kiln_out[((kiln_jp * " + ll(g_.nr) + " + kiln_jj) * " + ll(d_.oh) + " + kiln_oy) * " +
            ll(d_.ow) + " + kiln_x0 + kiln_t] = kiln_c[kiln_jj * kiln_cs + kiln_t];");
    w_.close(); // t
    w_.close(); // jj
    w_.close(); // jp
    w_.close(); // x0
    w_.close(); // oy
    loop("kiln_j", "0", ll(d_.o));
    loop("kiln_y", "0", ll(d_.oh));
    loop("kiln_x", "0", ll(d_.ow), "1", "KILN_MASKED_VECTOR");
    e_.push_scope();
    epilogue({"kiln_n", "kiln_j", "kiln_y", "kiln_x"},
             "kiln_out[(kiln_j * " + ll(d_.oh) + " + kiln_y) * " + ll(d_.ow) + " + kiln_x]");
    e_.pop_scope();
    w_.close(); // x
    w_.close(); // y
    w_.close(); // j
    w_.close(); // n
    close_images();
  }

  /**
   * Weight gradient: per image, pack x (padded) and dy (by panel, [pixel][NR], pixels over the
   * padded width with zeros at the dropped columns), then add every channel's tap blocks x panels
   * over the image's pixels; the epilogue runs once all images are in.
   */
  void weight_grad(const ConvEpilogue& epilogue, const Layout& l) {
    // Which chunks ran: each zeroes its own partial sums, and only theirs are added up.
    w_.line("char kiln_used[" + ll(workers(d_)) + "] = {0};");
    open_images(l);
    w_.line("kiln_used[kiln_chunk] = 1;");
    w_.line(t_ + "* __restrict kiln_pk = (" + t_ + "*)(kiln_area + " + ll(l.dy_offset) + ");");
    w_.line(t_ + "* __restrict kiln_part = (" + t_ + "*)(kiln_area + " + ll(l.part_offset) + ");");
    fill("kiln_part", g_.taps * g_.opad);
    fill("kiln_pk", g_.panels * g_.pflat * g_.nr);
    loop("kiln_n", "kiln_n0", "kiln_n1");
    pack_image();
    pack_dy();
    loop("kiln_c0", "0", ll(d_.c));
    loop("kiln_jp", "0", ll(g_.panels));
    for (int64_t blk = 0; blk < g_.blocks; ++blk)
      w_.line("kiln_wtile_" + name_ + "_" + ll(blk) + "::run(kiln_xp + kiln_c0 * " +
              ll(g_.hp * g_.wp) + ", kiln_pk + kiln_jp * " + ll(g_.pflat * g_.nr) +
              ", kiln_part + (kiln_c0 * " + ll(g_.window) + " + " + ll(blk * kMaxRows) + ") * " +
              ll(g_.opad) + " + kiln_jp * " + ll(g_.nr) + ", " + ll(g_.opad) + ", " + ll(g_.pflat) +
              ");");
    w_.close();
    w_.close();
    w_.close(); // n
    close_images();
    // The partial sums of the chunks that ran, added into the first one's (zeros if none ran).
    const std::string area = "(" + t_ + "*)(kiln_chunks + kiln_k * " + ll(l.chunk_bytes) + " + " +
                             ll(l.part_offset) + ")";
    w_.line(t_ + "* kiln_part = 0;");
    w_.open("for (int kiln_k = 0; kiln_k < " + ll(workers(d_)) + "; ++kiln_k)");
    w_.line("if (!kiln_used[kiln_k]) continue;");
    w_.line("const " + t_ + "* __restrict kiln_src = " + area + ";");
    w_.open("if (!kiln_part)");
    w_.line("kiln_part = " + area + ";");
    w_.line("continue;");
    w_.close();
    loop("kiln_z", "0", ll(g_.taps * g_.opad), "1", "KILN_ROLLED_VECTOR");
    w_.line("kiln_part[kiln_z] += kiln_src[kiln_z];");
    w_.close();
    w_.close();
    w_.open("if (!kiln_part)");
    w_.line("kiln_part = (" + t_ + "*)(kiln_chunks + " + ll(l.part_offset) + ");");
    fill("kiln_part", g_.taps * g_.opad);
    w_.close();
    // dw[o, c, ky, kx] is the sum at tap row (c, ky, kx), column o.
    loop("kiln_o", "0", ll(d_.o));
    loop("kiln_c0", "0", ll(d_.c));
    loop("kiln_ky", "0", ll(d_.kh));
    loop("kiln_kx", "0", ll(d_.kw), "1", "KILN_ROLLED_VECTOR");
    e_.push_scope();
    epilogue({"kiln_o", "kiln_c0", "kiln_ky", "kiln_kx"},
             "kiln_part[((kiln_c0 * " + ll(d_.kh) + " + kiln_ky) * " + ll(d_.kw) +
                 " + kiln_kx) * " + ll(g_.opad) + " + kiln_o]");
    e_.pop_scope();
    w_.close();
    w_.close();
    w_.close();
    w_.close();
  }

  CodeWriter& w_;
  ExprEmitter& e_;
  const ConvDesc& d_;
  const Geometry g_;
  const std::string t_, zero_, name_;
};

} // namespace

std::optional<ConvDesc> conv_plan(const Schedule& sc, ir::NodeId n) {
  const ir::Graph& g = sc.graph;
  const ir::Node& node = g.node(n);
  const ir::WindowRule* rule = node.def().window;
  if (!rule || rule->conv == ConvProduct::None || !ir::is_float(node.type.dtype))
    return std::nullopt;
  const ir::Attrs& a = node.attrs;
  auto pair = [&](const char* key, int64_t fallback) {
    return a.has(key) ? a.ints(key) : std::vector<int64_t>{fallback, fallback};
  };
  const std::vector<int64_t> stride = pair("stride", 1), pad = pair("padding", 0),
                             dil = pair("dilation", 1);
  if (stride != std::vector<int64_t>{1, 1} || a.i_or("groups", 1) != 1)
    return std::nullopt;
  for (ir::NodeId x : node.inputs)
    if (g.node(x).op == ir::Op::Constant)
      return std::nullopt;
  ConvDesc d;
  d.node = n;
  d.product = rule->conv;
  d.image = node.inputs[0];
  d.other = node.inputs[1];
  d.dtype = node.type.dtype;
  d.dh = dil[0];
  d.dw = dil[1];
  const ir::Shape& in = g.node(d.image).type.shape;
  const ir::Shape& out = node.type.shape;
  d.batch = in[0];
  d.c = in[1];
  d.h = in[2];
  d.w = in[3];
  switch (d.product) {
  case ConvProduct::Forward:
    d.ph = pad[0];
    d.pw = pad[1];
    d.kh = g.node(d.other).type.shape[2];
    d.kw = g.node(d.other).type.shape[3];
    d.o = out[1];
    d.oh = out[2];
    d.ow = out[3];
    break;
  case ConvProduct::InputGrad:
    d.kh = g.node(d.other).type.shape[2];
    d.kw = g.node(d.other).type.shape[3];
    // The transposed convolution pads dy by (k - 1) d - p; a larger p would crop instead.
    d.ph = (d.kh - 1) * d.dh - pad[0];
    d.pw = (d.kw - 1) * d.dw - pad[1];
    if (d.ph < 0 || d.pw < 0)
      return std::nullopt;
    d.o = out[1];
    d.oh = out[2];
    d.ow = out[3];
    break;
  case ConvProduct::WeightGrad: {
    d.ph = pad[0];
    d.pw = pad[1];
    d.kh = out[2];
    d.kw = out[3];
    const ir::Shape& dy = g.node(d.other).type.shape;
    d.o = dy[1];
    d.oh = dy[2];
    d.ow = dy[3];
    break;
  }
  case ConvProduct::None:
    return std::nullopt;
  }
  return d;
}

int64_t conv_workspace_bytes(const ConvDesc& d) {
  return layout(d).total;
}

void emit_direct_conv(CodeWriter& w, ExprEmitter& e, const ConvDesc& d,
                      const ConvEpilogue& epilogue) {
  KILN_ASSERT(d.product != ConvProduct::None, "emit_direct_conv of a non-convolution");
  KILN_ASSERT(!d.workspace.empty(), "emit_direct_conv: no workspace for %", d.node);
  ConvEmitter(w, e, d).emit(epilogue);
}

} // namespace kiln::codegen
