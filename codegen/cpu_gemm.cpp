#include "codegen/cpu_gemm.h"

#include <algorithm>

#include "ir/error.h"

namespace kiln::codegen {

namespace {

// Blocking for AVX-512 cores (measured on an Ice Lake-class Xeon: 48 KiB L1d, 2 MiB L2, two
// 512-bit FMA ports), documented in bench/gemm/README.md:
// - Tile MR x NR = 14 x 2 vectors: 28 accumulators + 2 B vectors + 1 broadcast fit the 32 zmm
//   registers; each step of k issues 28 FMAs for 2 loads and 14 broadcasts, so the two load
//   ports keep up with the two FMA ports. Hosts without AVX-512 (16 ymm) take 3 rows.
// - kc = the whole depth: a tile is final after one pass, so the epilogue runs on it at once,
//   with no partial sums in memory. The A sliver (MR x K) stays in L1 for K <= 512 (f32) while
//   the B panels stream past it from L2.
// - nc: a packed B panel of K x nc takes at most kPanelBytes, half of a 1 MiB L2 (most AVX-512
//   parts have 1-2 MiB), so it stays in L2 while every sliver of A sweeps it.
constexpr int kVectorBytes = 64;
constexpr int kVectorsPerTile = 2;
constexpr int kRowsWide = 14;
constexpr int kRowsNarrow = 3;
constexpr int64_t kPanelBytes = 512 * 1024;
// A row stride that is a multiple of 4 KiB maps the 14 rows of a sliver to one L1 set: pack.
constexpr int64_t kAliasBytes = 4096;
// The size rule, from bench/gemm: below ~48^3 multiply-adds per call (or for thin products)
// packing B costs more than the tile saves.
constexpr int64_t kMinWork = 48 * 48 * 48;
constexpr int64_t kMinCols = 16;
constexpr int64_t kMinDepth = 16;
constexpr int64_t kMinRows = 8;

int64_t elem_bytes(ir::DType t) { return t == ir::DType::F64 ? 8 : 4; }
int64_t lanes(ir::DType t) { return kVectorBytes / elem_bytes(t); }
int64_t tile_cols(ir::DType t) { return kVectorsPerTile * lanes(t); }
int64_t align64(int64_t bytes) { return (bytes + 63) & ~int64_t{63}; }

/** Columns per packed B panel: a multiple of NR, at most the (rounded-up) width of C. */
int64_t panel_cols(const MatmulDesc& d) {
  const int64_t nr = tile_cols(d.dtype);
  const int64_t fit = std::max<int64_t>(1, kPanelBytes / (d.depth * elem_bytes(d.dtype)) / nr) * nr;
  return std::min(fit, (d.cols + nr - 1) / nr * nr);
}

/** True when node `n` is read straight from its buffer (a stored root or a leaf with a slot). */
bool has_buffer(ir::NodeId n, const Schedule& sc) {
  return sc.slot_of[n] >= 0 && sc.storage[n] != Storage::Inline;
}

/** True when the tile reads A's rows in place instead of packing them (row-major, kind stride). */
bool direct_a(const MatmulDesc& d, const Schedule& sc) {
  return !d.ta && has_buffer(d.a, sc) && (d.depth * elem_bytes(d.dtype)) % kAliasBytes != 0;
}

std::string ll(int64_t v) { return std::to_string(v); }

class GemmEmitter {
public:
  GemmEmitter(CodeWriter& w, ExprEmitter& e, const MatmulDesc& d)
      : w_(w), e_(e), d_(d), t_(c_type_of(d.dtype)), zero_(c_literal(0, d.dtype)),
        nr_(tile_cols(d.dtype)), nc_(panel_cols(d)), k_(d.depth), direct_(direct_a(d, e.schedule())) {}

  void emit(const GemmEpilogue& epilogue) {
    w_.line(str("// blocked GEMM: tile (14 rows with AVX-512, else 3) x ", nr_, ", depth ", k_,
                " in one pass, B panels of ", k_, " x ", nc_, ", A ", direct_ ? "read in place" : "packed"));
    w_.open("");
    w_.line("typedef " + t_ + " kiln_vec __attribute__((vector_size(" + ll(kVectorBytes) + "), __may_alias__));");
    w_.line("#if defined(__AVX512F__)");
    w_.line("enum { kiln_mr = " + ll(kRowsWide) + " };");
    w_.line("#else");
    w_.line("enum { kiln_mr = " + ll(kRowsNarrow) + " };");
    w_.line("#endif");
    w_.line("#ifndef KILN_WIDE_VECTORS");
    w_.line("#ifdef __clang__");
    // Clang splits 64-byte vectors in two when it is tuned for 256-bit ones (icelake-client).
    w_.line("#define KILN_WIDE_VECTORS __attribute__((min_vector_width(512)))");
    // Loops around the tile stay rolled: with every size static, unrolling them whole makes
    // thousands of instructions (seconds of compile time) for no speed, and a loop unrolled
    // whole is no longer vectorized (the epilogue became scalar code).
    w_.line("#define KILN_ROLLED _Pragma(\"clang loop unroll(disable)\")");
    w_.line("#define KILN_ROLLED_VECTOR _Pragma(\"clang loop vectorize(enable) unroll(disable)\")");
    w_.line("#else");
    w_.line("#define KILN_WIDE_VECTORS");
    w_.line("#define KILN_ROLLED");
    w_.line("#define KILN_ROLLED_VECTOR _Pragma(\"GCC ivdep\")");
    w_.line("#endif");
    w_.line("#endif");
    tile_kernel();
    w_.line(t_ + "* __restrict kiln_pb = (" + t_ + "*)(" + d_.workspace + ");");
    w_.line(t_ + "* __restrict kiln_pa = (" + t_ + "*)(" + d_.workspace + " + " +
            ll(align64(k_ * nc_ * elem_bytes(d_.dtype))) + ");");
    w_.line(t_ + " kiln_c[kiln_mr * " + ll(nr_) + "] __attribute__((aligned(64)));");
    const std::string cols = c_dim(d_.cols), rows = c_dim(d_.rows);
    w_.line("KILN_ROLLED");
    w_.open("for (long long kiln_jc = 0; kiln_jc < " + cols + "; kiln_jc += " + ll(nc_) + ")");
    w_.line("const long long kiln_nc = " + cols + " - kiln_jc < " + ll(nc_) + " ? " + cols + " - kiln_jc : " + ll(nc_) + ";");
    pack_b();
    w_.line("KILN_ROLLED");
    w_.open("for (long long kiln_i0 = 0; kiln_i0 < " + rows + "; kiln_i0 += kiln_mr)");
    w_.line("const long long kiln_rows = " + rows + " - kiln_i0 < kiln_mr ? " + rows + " - kiln_i0 : kiln_mr;");
    sliver_a();
    w_.line("KILN_ROLLED");
    w_.open("for (long long kiln_jr = 0; kiln_jr < kiln_nc; kiln_jr += " + ll(nr_) + ")");
    w_.line("kiln_tile::run(kiln_a, kiln_pb + kiln_jr * " + ll(k_) + ", kiln_c);");
    w_.line("const long long kiln_cols = kiln_nc - kiln_jr < " + ll(nr_) + " ? kiln_nc - kiln_jr : " + ll(nr_) + ";");
    tile_epilogue(epilogue);
    w_.close();
    w_.close();
    w_.close();
    w_.close();
  }

private:
  /** A(i, k) and B(k, j) as C expressions, through the expression emitter. */
  std::string A(const std::string& i, const std::string& k) {
    return e_.value(d_.a, d_.ta ? Index{k, i} : Index{i, k});
  }
  std::string B(const std::string& k, const std::string& j) {
    return e_.value(d_.b, d_.tb ? Index{j, k} : Index{k, j});
  }

  /**
   * The register tile: C[kiln_mr, NR] = A sliver x B panel over the whole depth, stored to `c`.
   * One variant per vector width; the accumulators are named variables so they stay in registers.
   */
  void tile_kernel() {
    w_.open("struct kiln_tile");
    w_.open("KILN_WIDE_VECTORS static void run(const " + t_ + "* __restrict a, const " + t_ +
            "* __restrict b, " + t_ + "* __restrict c)");
    w_.line("#if defined(__AVX512F__)");
    tile_body(kRowsWide);
    w_.line("#else");
    tile_body(kRowsNarrow);
    w_.line("#endif");
    w_.close();
    w_.close(";");
  }

  void tile_body(int mr) {
    const int64_t nv = kVectorsPerTile, lanes_ = lanes(d_.dtype);
    auto acc = [](int r, int64_t v) { return "c" + std::to_string(r) + "_" + std::to_string(v); };
    std::string decl = "kiln_vec";
    for (int r = 0; r < mr; ++r)
      for (int64_t v = 0; v < nv; ++v) decl += std::string(r + v == 0 ? " " : ", ") + acc(r, v) + " = {}";
    w_.line(decl + ";");
    w_.open("for (long long k = 0; k < " + ll(k_) + "; ++k)");
    for (int64_t v = 0; v < nv; ++v)
      w_.line("const kiln_vec b" + ll(v) + " = *(const kiln_vec*)(b + k * " + ll(nr_) +
              (v ? " + " + ll(v * lanes_) : "") + ");");
    for (int r = 0; r < mr; ++r) {
      // Packed slivers are k-major (MR values per k); in-place rows have stride K.
      const std::string a = direct_ ? "a[" + (r ? ll(r * k_) + " + " : "") + "k]"
                                    : "a[k * " + ll(mr) + (r ? " + " + ll(r) : "") + "]";
      std::string line;
      for (int64_t v = 0; v < nv; ++v) line += (v ? " " : "") + acc(r, v) + " += " + a + " * b" + ll(v) + ";";
      w_.line(line);
    }
    w_.close();
    for (int r = 0; r < mr; ++r)
      for (int64_t v = 0; v < nv; ++v)
        w_.line("*(kiln_vec*)(c + " + ll(r * nr_ + v * lanes_) + ") = " + acc(r, v) + ";");
  }

  /** Packs B[:, kiln_jc + (0..kiln_nc)] into panels of NR columns, k-major, zero-padded. */
  void pack_b() {
    const std::string k = ll(k_), nr = ll(nr_);
    w_.line("KILN_ROLLED");
    w_.open("for (long long kiln_jr = 0; kiln_jr < kiln_nc; kiln_jr += " + nr + ")");
    w_.line("const long long kiln_cols = kiln_nc - kiln_jr < " + nr + " ? kiln_nc - kiln_jr : " + nr + ";");
    w_.line(t_ + "* __restrict kiln_dst = kiln_pb + kiln_jr * " + k + ";");
    // k outer with a runtime-bound inner loop for both layouts: an inner loop over the static
    // depth would be unrolled whole (slow to compile, and slower for tb: scatters).
    w_.line("KILN_ROLLED");
    w_.open("for (long long kk = 0; kk < " + k + "; ++kk)");
    w_.line(d_.tb ? "KILN_ROLLED" : "KILN_ROLLED_VECTOR");
    w_.open("for (long long jj = 0; jj < kiln_cols; ++jj)");
    e_.push_scope();
    w_.line("kiln_dst[kk * " + nr + " + jj] = " + B("kk", "(kiln_jc + kiln_jr + jj)") + ";");
    e_.pop_scope();
    w_.close();
    w_.line("KILN_ROLLED");
    w_.line("for (long long jj = kiln_cols; jj < " + nr + "; ++jj) kiln_dst[kk * " + nr + " + jj] = " + zero_ + ";");
    w_.close();
    w_.close();
  }

  /** Declares kiln_a, the sliver of rows kiln_i0 + (0..kiln_mr) in the tile kernel's layout. */
  void sliver_a() {
    const std::string k = ll(k_);
    if (direct_) {
      // In place, except for a short last sliver, copied with zero rows so the tile can read MR.
      const std::string buf = ExprEmitter::slot_name(e_.schedule().slot_of[d_.a]);
      w_.line("const " + t_ + "* __restrict kiln_a = " + buf + " + kiln_i0 * " + k + ";");
      w_.open("if (kiln_rows < kiln_mr)");
      // Runtime bounds on purpose: constant ones get unrolled into MR x K copies (slow to compile).
      w_.line("KILN_ROLLED");
      w_.open("for (long long ii = 0; ii < kiln_rows; ++ii)");
      w_.line("KILN_ROLLED_VECTOR");
      w_.open("for (long long kk = 0; kk < " + k + "; ++kk)");
      e_.push_scope();
      w_.line("kiln_pa[ii * " + k + " + kk] = " + A("(kiln_i0 + ii)", "kk") + ";");
      e_.pop_scope();
      w_.close();
      w_.close();
      w_.line("for (long long kk = kiln_rows * " + k + "; kk < kiln_mr * " + k + "; ++kk) kiln_pa[kk] = " + zero_ + ";");
      w_.line("kiln_a = kiln_pa;");
      w_.close();
      return;
    }
    // Packed k-major. A whole sliver copies MR values per k with a constant count, which the
    // compiler turns into a few vector moves (A^T's rows are contiguous, for ta); a short last
    // sliver is padded with zero rows.
    w_.open("if (kiln_rows == kiln_mr)");
    w_.line("KILN_ROLLED");
    w_.open("for (long long kk = 0; kk < " + k + "; ++kk)");
    if (d_.ta && has_buffer(d_.a, e_.schedule())) {
      // Compilers leave the element loop below scalar; a fixed-size memcpy becomes vector moves.
      w_.line("__builtin_memcpy(kiln_pa + kk * kiln_mr, " + ExprEmitter::slot_name(e_.schedule().slot_of[d_.a]) +
              " + kk * " + c_dim(d_.rows) + " + kiln_i0, sizeof(" + t_ + ") * kiln_mr);");
    } else {
      w_.open("for (long long ii = 0; ii < kiln_mr; ++ii)");
      e_.push_scope();
      w_.line("kiln_pa[kk * kiln_mr + ii] = " + A("(kiln_i0 + ii)", "kk") + ";");
      e_.pop_scope();
      w_.close();
    }
    w_.close();
    w_.reopen("else");
    w_.line("KILN_ROLLED");
    w_.open("for (long long kk = 0; kk < " + k + "; ++kk)");
    w_.line("KILN_ROLLED");
    w_.open("for (long long ii = 0; ii < kiln_rows; ++ii)");
    e_.push_scope();
    w_.line("kiln_pa[kk * kiln_mr + ii] = " + A("(kiln_i0 + ii)", "kk") + ";");
    e_.pop_scope();
    w_.close();
    w_.line("KILN_ROLLED");
    w_.line("for (long long ii = kiln_rows; ii < kiln_mr; ++ii) kiln_pa[kk * kiln_mr + ii] = " + zero_ + ";");
    w_.close();
    w_.close();
    w_.line("const " + t_ + "* __restrict kiln_a = kiln_pa;");
  }

  /** Runs the epilogue at every element of the finished tile (kiln_rows x kiln_cols). */
  void tile_epilogue(const GemmEpilogue& epilogue) {
    w_.line("KILN_ROLLED");
    w_.open("for (long long ii = 0; ii < kiln_rows; ++ii)");
    w_.line("KILN_ROLLED_VECTOR");
    w_.open("for (long long jj = 0; jj < kiln_cols; ++jj)");
    e_.push_scope();
    const std::string i = e_.fresh("i"), j = e_.fresh("j");
    w_.line("const long long " + i + " = kiln_i0 + ii;");
    w_.line("const long long " + j + " = kiln_jc + kiln_jr + jj;");
    epilogue({i, j}, "kiln_c[ii * " + ll(nr_) + " + jj]");
    e_.pop_scope();
    w_.close();
    w_.close();
  }

  CodeWriter& w_;
  ExprEmitter& e_;
  const MatmulDesc& d_;
  const std::string t_, zero_;
  const int64_t nr_, nc_, k_;
  const bool direct_;
};

} // namespace

MatmulDesc describe_matmul(const ir::Graph& g, ir::NodeId matmul) {
  const ir::Node& n = g.node(matmul);
  KILN_ASSERT(n.op == ir::Op::MatMul, "describe_matmul: %", matmul, " is not a matmul");
  MatmulDesc d;
  d.node = matmul;
  d.a = n.inputs[0];
  d.b = n.inputs[1];
  d.ta = n.attrs.i("ta") != 0;
  d.tb = n.attrs.i("tb") != 0;
  d.rows = n.type.shape[0];
  d.cols = n.type.shape[1];
  d.depth = g.node(d.a).type.shape[d.ta ? 0 : 1];
  d.dtype = n.type.dtype;
  return d;
}

GemmPlan plan_gemm(const MatmulDesc& d) {
  if (d.cols == ir::kBatch || d.depth == ir::kBatch || !ir::is_float(d.dtype)) return {};
  if (d.cols < kMinCols || d.depth < kMinDepth) return {};
  if (d.rows != ir::kBatch)
    return {d.rows >= kMinRows && d.rows * d.cols * d.depth >= kMinWork, 0};
  const int64_t per_row = d.cols * d.depth;
  return {true, std::max(kMinRows, (kMinWork + per_row - 1) / per_row)};
}

int64_t gemm_workspace_bytes(const MatmulDesc& d) {
  const int64_t e = elem_bytes(d.dtype);
  return align64(d.depth * panel_cols(d) * e) + align64(kRowsWide * d.depth * e);
}

void emit_blocked_matmul(CodeWriter& w, ExprEmitter& e, const MatmulDesc& d,
                         const GemmEpilogue& epilogue) {
  KILN_ASSERT(plan_gemm(d).blocked, "emit_blocked_matmul: %", d.node, " does not fit the blocked GEMM");
  KILN_ASSERT(!d.workspace.empty(), "emit_blocked_matmul: no workspace for %", d.node);
  GemmEmitter(w, e, d).emit(epilogue);
}

} // namespace kiln::codegen
