#include "codegen/cpu/gemm.h"

#include <algorithm>

#include "base/error.h"
#include "codegen/cpu/parallel.h"

namespace kiln::codegen {

namespace {

// Blocking for AVX-512 cores (measured on an AVX-512 Xeon that clang calls icelake-client: 48 KiB
// L1d, 2 MiB L2, two 512-bit FMA ports; numbers in bench/gemm/README.md):
// - Tile MR x NR = 14 x 2 vectors: 28 accumulators + 2 B vectors + 1 broadcast fit the 32 zmm
//   registers; each step of k issues 28 FMAs for 2 loads and 14 broadcasts, so the load ports
//   keep up with the two FMA ports.
// - kc: a depth of up to 2 KiB per row (512 f32, 256 f64) is one block, so a tile is final
//   after one pass and the epilogue runs on it at once. Deeper products take blocks of 1 KiB
//   per row (256 f32): the A sliver (MR x kc, 14 KiB) stays in L1 while B streams past it, and
//   the tiles' partial sums wait in an mc x nc block (mc = 8 slivers) that stays in L2.
// - nc: a kc x nc block of packed B takes at most 512 KiB (half of a 1 MiB L2; most AVX-512
//   parts have 1-2 MiB), so it stays in L2 while every sliver of A sweeps it. B is packed once
//   per call (all of K for nc columns at a time).
// - A depth of N (a weight gradient, summed over the batch) is unbounded, so B cannot be packed
//   whole: depth blocks of 1 KiB per row run outermost, each packs its kc x nc block of B and
//   sweeps all of the (static, few) rows of C, whose partial sums wait in the workspace
//   (rows x nc: 256 KiB for a 256 x 256 layer, in L2). The workspace stays static.
constexpr int kTileBytes = 128; // NR: 32 f32 or 16 f64
constexpr int kRowsWide = 14;
// Without AVX-512 the tile keeps NR and takes fewer rows of narrower vectors (GCC compiles
// 64-byte vectors on such hosts through memory): with 16 ymm, 3 rows (12 accumulators) are best
// for GCC, which feeds B from memory, and 2 for Clang, which spills one accumulator at 3 rows
// (bench/gemm: 0.41 and 0.38 of the AVX-512 peak, about 0.8 of AVX2's); with SSE, one row.
constexpr struct {
  const char* condition;
  int rows, vector_bytes;
} kTiles[] = {{"defined(__AVX512F__)", kRowsWide, 64},
              {"defined(__AVX__) && defined(__clang__)", 2, 32},
              {"defined(__AVX__)", 3, 32},
              {nullptr, 1, 16}};
// A dynamic row count's short last sliver of at most 2 x kTailRows rows takes a tile of kTailRows
// rows (once or twice) instead of the whole one: W5's Linear(9216, 128) input gradient ran its
// batch of 32 as 14 + 14 + 4 rows, whose last sliver cost as much as a whole one.
constexpr int kTailRows = 4;
constexpr int kSliversPerBlock = 8;
constexpr int64_t kOnePassBytes = 2048;
constexpr int64_t kBlockBytes = 1024;
constexpr int64_t kPanelBytes = 512 * 1024;
// A row stride that is a multiple of 4 KiB maps the 14 rows of a sliver to one L1 set: pack.
constexpr int64_t kAliasBytes = 4096;
// The size rule, from bench/gemm: below ~48^3 multiply-adds per call (or for thin products)
// packing B costs more than the tile saves.
constexpr int64_t kMinWork = 48 * 48 * 48;
constexpr int64_t kMinCols = 16;
constexpr int64_t kMinDepth = 16;
constexpr int64_t kMinRows = 8;
// With a dynamic batch both the blocked GEMM and the row loop are emitted, which costs clang
// ~0.3 s per product. Layers narrower than 64x64 gain little from blocking at any batch size
// (deep, narrow nets like the width-32 ablation would compile for a minute), so they keep
// only the row loop.
constexpr int64_t kMinDynamicPerRow = 64 * 64;
// A depth of N (weight gradients): the row loop streams all of B once per row of C, so the
// blocked GEMM wins from 8 samples on (1.2-2x up to 64, 2-7x at 1024) and loses at most 0.2 us
// below 4 (bench/gemm, gradients of 10 x 256 to 256 x 256). It comes alone, with no branch and so
// no more compile time than the row loop, from half the size a dynamic row count needs.
constexpr int64_t kMinGradientArea = 2048;
// A transposed weight of more than 1 MiB (an L2) would be packed whole into the workspace, written
// and read back from memory, every call; transposed, the product reads it once in place.
constexpr int64_t kTransposeFrom = 1 << 20;

/**
 * Rows of the AVX-512 tile for `d`: 14, or fewer when a static row count then splits into
 * slivers of equal work. 32 rows (a 32-wide layer's weight gradient) take 11 + 11 + 10 instead of
 * 14 + 14 + 4, whose last sliver costs as much as a whole one (22% of the product's FMAs).
 */
int64_t wide_rows(const MatmulDesc& d) {
  if (d.rows == ir::kBatch)
    return kRowsWide;
  const int64_t slivers = (d.rows + kRowsWide - 1) / kRowsWide;
  return (d.rows + slivers - 1) / slivers;
}

int64_t tile_cols(ir::DType t) {
  return kTileBytes / ir::dtype_bytes(t);
}
int64_t align64(int64_t bytes) {
  return (bytes + 63) & ~int64_t{63};
}

/** Depth of one block: all of it when rows are short and static, else kBlockBytes per row. */
int64_t depth_block(const MatmulDesc& d) {
  const int64_t e = ir::dtype_bytes(d.dtype);
  return d.depth != ir::kBatch && d.depth * e <= kOnePassBytes ? d.depth : kBlockBytes / e;
}

/** Columns per packed B panel: a multiple of NR, at most the (rounded-up) width of C. */
int64_t panel_cols(const MatmulDesc& d) {
  const int64_t nr = tile_cols(d.dtype);
  // A batch of columns (a transposed product's) is a few samples: one tile wide at a time.
  if (d.cols == ir::kBatch)
    return nr;
  const int64_t fit =
      std::max<int64_t>(1, kPanelBytes / (depth_block(d) * ir::dtype_bytes(d.dtype)) / nr) * nr;
  return std::min(fit, (d.cols + nr - 1) / nr * nr);
}

/**
 * True when the product's rows may split over threads: there are several, and a sweep of its
 * slivers over one panel (and one depth block, for a depth of N) may reach kCpuParallelFlops
 * (always with a dynamic row count, else by its static sizes).
 */
bool may_parallel(const MatmulDesc& d) {
  if (d.threads <= 1)
    return false;
  if (d.rows == ir::kBatch)
    return true;
  const int64_t depth = d.depth == ir::kBatch ? depth_block(d) : d.depth;
  return 2.0 * double(d.rows) * double(depth) * double(panel_cols(d)) >= kCpuParallelFlops;
}

/**
 * Workspace layout: packed B panel, one A sliver per worker of the runtime's thread pool (the
 * rows of C are split over them), the partial sums of a split depth.
 */
struct Layout {
  int64_t b_bytes, a_bytes, partial_bytes;
};

Layout layout(const MatmulDesc& d) {
  const int64_t e = ir::dtype_bytes(d.dtype), workers = may_parallel(d) ? kCpuMaxWorkers : 1;
  if (d.depth == ir::kBatch) {
    // One kc x nc block of B, one sliver of kc, and the partial sums of every row (a short last
    // sliver is padded to the tile's MR rows).
    const int64_t kc = depth_block(d), nc = panel_cols(d);
    return {align64(kc * nc * e), workers * align64(kRowsWide * kc * e),
            align64((d.rows + kRowsWide - 1) * nc * e)};
  }
  const bool split = depth_block(d) < d.depth;
  return {align64(d.depth * panel_cols(d) * e), workers * align64(kRowsWide * d.depth * e),
          split ? align64(kRowsWide * kSliversPerBlock * panel_cols(d) * e) : 0};
}

/** True when node `n` is read straight from its buffer (a stored root or a leaf with a slot). */
bool has_buffer(ir::NodeId n, const Schedule& sc) {
  return sc.slot_of[n] >= 0 && sc.storage[n] != Storage::Inline;
}

/** True when the tile reads A's rows in place: row-major in a buffer, rows not 4 KiB apart. */
bool direct_a(const MatmulDesc& d, const Schedule& sc) {
  return !d.ta && d.depth != ir::kBatch && has_buffer(d.a, sc) &&
         (d.depth * ir::dtype_bytes(d.dtype)) % kAliasBytes != 0;
}

/**
 * True when the tile reads A from a copy of its rows (kc apart) made per sliver and depth block:
 * A row-major in a buffer whose rows are a multiple of 4 KiB apart. The copy streams along rows;
 * packing such rows k-major gathered MR rows at once, all in one L1 set.
 */
bool rows_a(const MatmulDesc& d, const Schedule& sc) {
  return !d.ta && d.depth != ir::kBatch && has_buffer(d.a, sc) && !direct_a(d, sc);
}

std::string ll(int64_t v) {
  return std::to_string(v);
}

class GemmEmitter {
public:
  GemmEmitter(CodeWriter& w, ExprEmitter& e, const MatmulDesc& d)
      : w_(w), e_(e), d_(d), t_(c_type_of(d.dtype)), zero_(c_literal(0, d.dtype)),
        nr_(tile_cols(d.dtype)), nc_(panel_cols(d)), k_(d.depth), kc_(depth_block(d)),
        dynamic_(k_ == ir::kBatch), split_(dynamic_ || kc_ < k_),
        direct_(direct_a(d, e.schedule())), stride_(direct_                   ? k_
                                                    : rows_a(d, e.schedule()) ? kc_
                                                                              : 0),
        parallel_(may_parallel(d)), wide_rows_(wide_rows(d)),
        tail_(stride_ > 0 && d.rows == ir::kBatch), tile_(tile_name(wide_rows_)) {}

  /** The micro-kernels this product calls (the tile, and the tail's): names and definitions. */
  std::map<std::string, std::string> tiles() const {
    std::map<std::string, std::string> out{tile(tile_, wide_rows_)};
    if (tail_)
      out.insert(tile(tile_name(kTailRows), kTailRows));
    return out;
  }

  void emit(const GemmEpilogue& epilogue) {
    w_.line(str("// blocked GEMM: tile (", wide_rows_,
                " rows with AVX-512, 2-3 with AVX, else 1) x ", nr_, ", depth ", c_dim(k_),
                split_ ? str(" in blocks of ", kc_) : std::string(" in one pass"), ", B panels of ",
                dynamic_ ? ll(kc_) : ll(k_), " x ", nc_, ", A ",
                direct_   ? "read in place"
                : stride_ ? "copied by rows"
                          : "packed"));
    w_.open("");
    preamble();
    const Layout l = layout(d_);
    auto area = [&](const std::string& name, int64_t offset) {
      w_.line(t_ + "* __restrict " + name + " = (" + t_ + "*)(" + d_.workspace +
              (offset ? " + " + ll(offset) : "") + ");");
    };
    area("kiln_pb", 0);
    area("kiln_pa0", l.b_bytes);
    if (split_)
      area("kiln_part", l.b_bytes + l.a_bytes);
    const std::string cols = c_dim(d_.cols), rows = c_dim(d_.rows);
    loop("kiln_jc", "0", cols, ll(nc_));
    w_.line("const long long kiln_nc = " + c_min(cols + " - kiln_jc", ll(nc_)) + ";");
    if (dynamic_) {
      // Depth blocks outermost, each with its block of B, over every row of C. At least one
      // block even for N = 0, so the epilogue still runs (on zeros).
      w_.line("KILN_ROLLED");
      w_.open("for (long long kiln_pc = 0; kiln_pc == 0 || kiln_pc < N; kiln_pc += " + ll(kc_) +
              ")");
      w_.line("const long long kiln_kc = " + c_min("N - kiln_pc", ll(kc_)) + ";");
      pack_b();
      slivers(rows, "(double)kiln_kc * " + ll(2 * d_.rows) + " * kiln_nc");
    } else if (split_) {
      pack_b();
      w_.line(t_ + "* __restrict kiln_pa = kiln_pa0;");
      // Blocks of mc rows; within one, every depth block adds to the tiles' partial sums.
      loop("kiln_ic", "0", rows, "kiln_mr * " + ll(kSliversPerBlock));
      w_.line("const long long kiln_end = " +
              c_min(rows + " - kiln_ic", "kiln_mr * " + ll(kSliversPerBlock)) + " + kiln_ic;");
      loop("kiln_pc", "0", ll(k_), ll(kc_));
      w_.line("const long long kiln_kc = " + c_min(ll(k_) + " - kiln_pc", ll(kc_)) + ";");
      loop("kiln_i0", "kiln_ic", "kiln_end", "kiln_mr");
    } else {
      pack_b();
      slivers(rows, "(double)" + rows + " * " + ll(2 * k_) + " * kiln_nc");
    }
    w_.line("const long long kiln_sliver_rows = " + c_min(rows + " - kiln_i0", "kiln_mr") + ";");
    sliver_a();
    loop("kiln_jr", "0", "kiln_nc", ll(nr_));
    w_.line("const long long kiln_cols = " + c_min("kiln_nc - kiln_jr", ll(nr_)) + ";");
    if (split_) {
      // Partial sums by sliver (of this mc block, or of all rows for a depth of N) and panel.
      w_.line(t_ + "* __restrict kiln_c = kiln_part + (" +
              (dynamic_ ? "kiln_i0" : "(kiln_i0 - kiln_ic)") + " / kiln_mr * " + ll(nc_ / nr_) +
              " + kiln_jr / " + ll(nr_) + ") * (kiln_mr * " + ll(nr_) + ");");
      const std::string panel =
          dynamic_ ? "kiln_jr * kiln_kc" : "kiln_jr * " + ll(k_) + " + kiln_pc * " + ll(nr_);
      call_tile("kiln_pb + " + panel, "kiln_c", "kiln_kc", "kiln_pc == 0");
      if (!row_epilogue()) {
        w_.open("if (kiln_pc + kiln_kc == " + c_dim(k_) + ")");
        tile_epilogue(epilogue);
        w_.close();
      }
      w_.close(); // jr
      w_.close(); // i0
      if (dynamic_)
        end_slivers();
      w_.close(); // pc
      if (!dynamic_)
        w_.close(); // ic
      if (row_epilogue())
        rows_epilogue(epilogue);
    } else {
      call_tile("kiln_pb + kiln_jr * " + ll(k_), "kiln_c", ll(k_), "1");
      tile_epilogue(epilogue);
      w_.close(); // jr
      w_.close(); // i0
      end_slivers();
    }
    w_.close(); // jc
    w_.close();
  }

private:
  /**
   * A micro-kernel's name, after what its code depends on (element type, A's layout, whether it
   * adds to partial sums, the AVX-512 tile's rows): products with the same share one function.
   */
  std::string tile_name(int64_t wide) const {
    return "kiln_tile_" + t_ + (stride_ ? "_stride" + ll(stride_) : "_packed") +
           (split_ ? "_acc" : "") + (wide != kRowsWide ? "_rows" + ll(wide) : "");
  }

  /** The micro-kernel `name` with `wide` rows on AVX-512 hosts: its file-scope definition. */
  std::pair<std::string, std::string> tile(const std::string& name, int64_t wide) const {
    CodeWriter w;
    w.line("// c[kiln_mr, " + ll(nr_) + "] " + (split_ ? "(+)= " : "= ") + "the sliver of A (" +
           (stride_ ? "rows " + ll(stride_) + " apart" : "packed") + ") times a panel of B.");
    w.open("__attribute__((noinline)) KILN_WIDE_VECTORS static void " + name + "(const " + t_ +
           "* __restrict a, const " + t_ + "* __restrict b, " + t_ +
           "* __restrict c, long long kc, int first)");
    for (const auto& t : kTiles) {
      w.line(branch(t.condition, &t == kTiles));
      tile_body(w, static_cast<int>(std::min<int64_t>(rows(t.rows), wide)), t.vector_bytes);
    }
    w.line("#endif");
    w.close();
    return {name, w.str()};
  }

  /**
   * Calls the tile on the sliver kiln_a and the panel at `b`, into `c`. With a tail tile, a short
   * sliver of at most two tails' rows takes it once or twice (its rows are copied, zero-padded to
   * MR, so the tails never read past them).
   */
  void call_tile(const std::string& b, const std::string& c, const std::string& kc,
                 const std::string& first) {
    const std::string args = ", " + kc + ", " + first + ");";
    if (!tail_) {
      w_.line(tile_ + "(kiln_a, " + b + ", " + c + args);
      return;
    }
    w_.open("if (kiln_sliver_rows <= 2 * kiln_tail_mr)");
    w_.line("KILN_ROLLED");
    w_.line("for (long long kiln_q = 0; kiln_q < kiln_sliver_rows; kiln_q += kiln_tail_mr) " +
            tile_name(kTailRows) + "(kiln_a + kiln_q * " + ll(stride_) + ", " + b + ", " + c +
            " + kiln_q * " + ll(nr_) + args);
    w_.reopen("else");
    w_.line(tile_ + "(kiln_a, " + b + ", " + c + args);
    w_.close();
  }

  /**
   * Opens the loop over the slivers of MR rows. When the product can be worth threads (a dynamic
   * row count, or at least kCpuParallelFlops per sweep over the rows), the loop is the body of a
   * lambda that the runtime's pool runs on ranges of slivers (kiln_parallel, which still runs it
   * on one thread below that work): each worker packs A into its own buffer and keeps its own
   * tile. Smaller products keep a plain loop: through the lambda's captures the W6 step (24
   * products of 256 static rows) ran 25% slower.
   */
  void slivers(const std::string& rows, const std::string& flops) {
    w_.line("const long long kiln_slivers = (" + rows + " + kiln_mr - 1) / kiln_mr;");
    if (parallel_) {
      w_.line("const double kiln_flops = " + flops + ";");
      w_.open("auto kiln_body = [=](long long kiln_lo, long long kiln_hi, int kiln_worker) "
              "__attribute__((always_inline))");
      w_.line(t_ + "* __restrict kiln_pa = kiln_pa0 + kiln_worker * " +
              ll(layout(d_).a_bytes / kCpuMaxWorkers / ir::dtype_bytes(d_.dtype)) + ";");
    } else {
      w_.open("");
      w_.line("const long long kiln_lo = 0, kiln_hi = kiln_slivers;");
      w_.line(t_ + "* __restrict kiln_pa = kiln_pa0;");
    }
    if (!split_)
      w_.line(t_ + " kiln_c[kiln_mr * " + ll(nr_) + "] __attribute__((aligned(64)));");
    w_.line("KILN_ROLLED");
    w_.open("for (long long kiln_s = kiln_lo; kiln_s < kiln_hi; ++kiln_s)");
    w_.line("const long long kiln_i0 = kiln_s * kiln_mr;");
  }
  void end_slivers() {
    if (!parallel_) {
      w_.close();
      return;
    }
    w_.close(";"); // the lambda
    w_.line("kiln_parallel(kiln_slivers, kiln_flops, kiln_body);");
  }

  /** One preprocessor branch of a chain: "#if c", "#elif c" or "#else". */
  static std::string branch(const char* condition, bool first) {
    return condition ? std::string(first ? "#if " : "#elif ") + condition : "#else";
  }

  /** MR of a tile variant: the AVX-512 one takes this product's balanced row count. */
  int rows(int variant_rows) const {
    return variant_rows == kRowsWide ? static_cast<int>(wide_rows_) : variant_rows;
  }

  /** min(a, b) as a C expression. */
  static std::string c_min(const std::string& a, const std::string& b) {
    return "(" + a + " < " + b + " ? " + a + " : " + b + ")";
  }

  /** Opens `for (v = from; v < to; v += step)`, kept rolled. */
  void loop(const std::string& v, const std::string& from, const std::string& to,
            const std::string& step) {
    w_.line("KILN_ROLLED");
    w_.open("for (long long " + v + " = " + from + "; " + v + " < " + to + "; " + v +
            (step == "1" ? "++" : " += " + step) + ")");
  }

  /** A(i, k) and B(k, j) as C expressions, through the expression emitter. */
  std::string A(const std::string& i, const std::string& k) {
    return e_.value(d_.a, d_.ta ? Index{k, i} : Index{i, k});
  }
  std::string B(const std::string& k, const std::string& j) {
    return e_.value(d_.b, d_.tb ? Index{j, k} : Index{k, j});
  }
  /** Depth index of sliver column kk. */
  std::string depth(const std::string& kk) const { return split_ ? "(kiln_pc + " + kk + ")" : kk; }
  std::string kc() const { return split_ ? "kiln_kc" : ll(k_); }

  void preamble() {
    for (const auto& tile : kTiles) {
      w_.line(branch(tile.condition, &tile == kTiles));
      w_.line("const long long kiln_mr = " + ll(rows(tile.rows)) + ";");
      if (tail_)
        w_.line("const long long kiln_tail_mr = " +
                ll(std::min<int64_t>(rows(tile.rows), kTailRows)) + ";");
    }
    w_.line("#endif");
  }

  /**
   * The register tile: c[kiln_mr, NR] (+)= A sliver x B panel over kc steps of depth; `first`
   * starts from zero, else from c. One variant per vector width; the accumulators are named
   * variables so they stay in registers.
   */
  void tile_body(CodeWriter& w, int mr, int vector_bytes) const {
    const int64_t lanes_ = vector_bytes / ir::dtype_bytes(d_.dtype), nv = nr_ / lanes_;
    w.line("typedef " + t_ + " kiln_vec __attribute__((vector_size(" + ll(vector_bytes) +
           "), __may_alias__));");
    auto acc = [](int r, int64_t v) { return "c" + std::to_string(r) + "_" + std::to_string(v); };
    auto at = [&](int r, int64_t v) {
      return "*(kiln_vec*)(c + " + ll(r * nr_ + v * lanes_) + ")";
    };
    std::string decl = "kiln_vec";
    for (int r = 0; r < mr; ++r)
      for (int64_t v = 0; v < nv; ++v)
        decl += std::string(r + v == 0 ? " " : ", ") + acc(r, v) + " = {}";
    w.line(decl + ";");
    if (split_) {
      w.open("if (!first)");
      for (int r = 0; r < mr; ++r)
        for (int64_t v = 0; v < nv; ++v)
          w.line(acc(r, v) + " = " + at(r, v) + ";");
      w.close();
    } else {
      w.line("(void)first;");
    }
    // Rolled: unrolling a loop of MR x NR / lanes FMAs gains nothing, and with a runtime depth
    // LLVM's unrolled copies ran out of registers and spilled accumulators (the packed tile of
    // the W6 step's weight gradients ran at half speed).
    w.line("KILN_ROLLED");
    w.open("for (long long k = 0; k < kc; ++k)");
    // "bv", not "b": b<digits> names the step's buffers (see tile_).
    for (int64_t v = 0; v < nv; ++v)
      w.line("const kiln_vec bv" + ll(v) + " = *(const kiln_vec*)(b + k * " + ll(nr_) +
             (v ? " + " + ll(v * lanes_) : "") + ");");
    for (int r = 0; r < mr; ++r) {
      // Packed slivers are k-major (MR values per k); rows (in place or copied) are stride_ apart.
      const std::string a = stride_ ? "a[" + (r ? ll(r * stride_) + " + " : "") + "k]"
                                    : "a[k * " + ll(mr) + (r ? " + " + ll(r) : "") + "]";
      std::string line;
      for (int64_t v = 0; v < nv; ++v)
        line += (v ? " " : "") + acc(r, v) + " += " + a + " * bv" + ll(v) + ";";
      w.line(line);
    }
    w.close();
    for (int r = 0; r < mr; ++r)
      for (int64_t v = 0; v < nv; ++v)
        w.line(at(r, v) + " = " + acc(r, v) + ";");
  }

  /**
   * Packs B[:, kiln_jc + (0..kiln_nc)] into panels of NR columns, k-major, zero-padded: all of
   * the depth, or with a dynamic depth the block kiln_pc + (0..kiln_kc).
   */
  void pack_b() {
    const std::string k = dynamic_ ? "kiln_kc" : ll(k_), nr = ll(nr_);
    loop("kiln_jr", "0", "kiln_nc", nr);
    w_.line("const long long kiln_cols = " + c_min("kiln_nc - kiln_jr", nr) + ";");
    w_.line(t_ + "* __restrict kiln_dst = kiln_pb + kiln_jr * " + k + ";");
    if (d_.tb) {
      // B^T's rows run along k: a cache line of each at a time. k outer read NR rows at once,
      // 4 KiB apart in W5's forward (a batch of 9216-wide rows), so in one L1 set: 0.55 ms of
      // its 1.9, 0.3 this way.
      const int64_t line = 64 / ir::dtype_bytes(d_.dtype);
      loop("kiln_k0", "0", k, ll(line));
      w_.line("const long long kiln_k1 = kiln_k0 + " + c_min(k + " - kiln_k0", ll(line)) + ";");
      loop("jj", "0", "kiln_cols", "1");
      loop("kk", "kiln_k0", "kiln_k1", "1");
      e_.push_scope();
      w_.line("kiln_dst[kk * " + nr +
              " + jj] = " + B(dynamic_ ? depth("kk") : "kk", "(kiln_jc + kiln_jr + jj)") + ";");
      e_.pop_scope();
      w_.close();
      w_.close();
      w_.close();
      w_.open("if (kiln_cols < " + nr + ")");
      loop("kk", "0", k, "1");
      w_.line("for (long long jj = kiln_cols; jj < " + nr + "; ++jj) kiln_dst[kk * " + nr +
              " + jj] = " + zero_ + ";");
      w_.close();
      w_.close();
      w_.close();
      return;
    }
    // k outer with a runtime-bound inner loop for both layouts: an inner loop over the static
    // depth would be unrolled whole (slow to compile, and slower for tb: scatters).
    loop("kk", "0", k, "1");
    w_.line(d_.tb ? "KILN_ROLLED" : "KILN_ROLLED_VECTOR");
    w_.open("for (long long jj = 0; jj < kiln_cols; ++jj)");
    e_.push_scope();
    w_.line("kiln_dst[kk * " + nr +
            " + jj] = " + B(dynamic_ ? depth("kk") : "kk", "(kiln_jc + kiln_jr + jj)") + ";");
    e_.pop_scope();
    w_.close();
    w_.line("KILN_ROLLED");
    w_.line("for (long long jj = kiln_cols; jj < " + nr + "; ++jj) kiln_dst[kk * " + nr +
            " + jj] = " + zero_ + ";");
    w_.close();
    w_.close();
  }

  /** Declares kiln_a: rows kiln_i0 + (0..kiln_mr), depth block kc, in the tile's layout. */
  void sliver_a() {
    const std::string k = ll(k_);
    if (direct_) {
      // In place, except for a short last sliver, copied with zero rows so the tile can read MR.
      const std::string buf = ExprEmitter::slot_name(e_.schedule().slot_of[d_.a]);
      w_.line("const " + t_ + "* __restrict kiln_a = " + buf + " + kiln_i0 * " + k +
              (split_ ? " + kiln_pc" : "") + ";");
      w_.open("if (kiln_sliver_rows < kiln_mr)");
      // Runtime bounds on purpose: constant ones get unrolled into MR x K copies (slow to compile).
      loop("ii", "0", "kiln_sliver_rows", "1");
      w_.line("KILN_ROLLED_VECTOR");
      w_.open("for (long long kk = 0; kk < " + kc() + "; ++kk)");
      e_.push_scope();
      w_.line("kiln_pa[ii * " + k + " + kk] = " + A("(kiln_i0 + ii)", depth("kk")) + ";");
      e_.pop_scope();
      w_.close();
      w_.close();
      w_.line("for (long long kk = kiln_sliver_rows * " + k + "; kk < kiln_mr * " + k +
              "; ++kk) kiln_pa[kk] = " + zero_ + ";");
      w_.line("kiln_a = kiln_pa;");
      w_.close();
      return;
    }
    if (stride_) {
      // Row by row (a stream along each), zero rows up to MR.
      loop("ii", "0", "kiln_sliver_rows", "1");
      w_.line("KILN_ROLLED_VECTOR");
      w_.open("for (long long kk = 0; kk < " + kc() + "; ++kk)");
      e_.push_scope();
      w_.line("kiln_pa[ii * " + ll(stride_) + " + kk] = " + A("(kiln_i0 + ii)", depth("kk")) + ";");
      e_.pop_scope();
      w_.close();
      w_.close();
      w_.line("KILN_ROLLED");
      w_.line("for (long long kk = kiln_sliver_rows * " + ll(stride_) + "; kk < kiln_mr * " +
              ll(stride_) + "; ++kk) kiln_pa[kk] = " + zero_ + ";");
      w_.line("const " + t_ + "* __restrict kiln_a = kiln_pa;");
      return;
    }
    // Packed k-major. A whole sliver copies MR values per k with a constant count, which the
    // compiler turns into a few vector moves; a short last sliver is padded with zero rows.
    w_.open("if (kiln_sliver_rows == kiln_mr)");
    loop("kk", "0", kc(), "1");
    if (d_.ta && has_buffer(d_.a, e_.schedule())) {
      // A^T's rows are contiguous. Compilers leave the element loop below scalar even so; a
      // fixed-size memcpy becomes vector moves.
      w_.line("__builtin_memcpy(kiln_pa + kk * kiln_mr, " +
              ExprEmitter::slot_name(e_.schedule().slot_of[d_.a]) + " + " + depth("kk") + " * " +
              c_dim(d_.rows) + " + kiln_i0, sizeof(" + t_ + ") * kiln_mr);");
    } else {
      w_.open("for (long long ii = 0; ii < kiln_mr; ++ii)");
      e_.push_scope();
      w_.line("kiln_pa[kk * kiln_mr + ii] = " + A("(kiln_i0 + ii)", depth("kk")) + ";");
      e_.pop_scope();
      w_.close();
    }
    w_.close();
    w_.reopen("else");
    loop("kk", "0", kc(), "1");
    loop("ii", "0", "kiln_sliver_rows", "1");
    e_.push_scope();
    w_.line("kiln_pa[kk * kiln_mr + ii] = " + A("(kiln_i0 + ii)", depth("kk")) + ";");
    e_.pop_scope();
    w_.close();
    w_.line("KILN_ROLLED");
    w_.line(
        "for (long long ii = kiln_sliver_rows; ii < kiln_mr; ++ii) kiln_pa[kk * kiln_mr + ii] = " +
        zero_ + ";");
    w_.close();
    w_.close();
    w_.line("const " + t_ + "* __restrict kiln_a = kiln_pa;");
  }

  /** Runs the epilogue at every element of the finished tile kiln_c (kiln_sliver_rows x kiln_cols).
   */
  void tile_epilogue(const GemmEpilogue& epilogue) {
    loop("ii", "0", "kiln_sliver_rows", "1");
    w_.line("KILN_ROLLED_VECTOR");
    w_.open("for (long long jj = 0; jj < kiln_cols; ++jj)");
    e_.push_scope();
    const std::string i = e_.fresh("i"), j = e_.fresh("j");
    w_.line("const long long " + i + " = kiln_i0 + ii;");
    w_.line("const long long " + j + " = kiln_jc + kiln_jr + jj;");
    epilogue(d_.swapped ? Index{j, i} : Index{i, j}, "kiln_c[ii * " + ll(nr_) + " + jj]");
    e_.pop_scope();
    w_.close();
    w_.close();
  }

  /**
   * A weight gradient (depth N) runs its epilogue once its columns' depth blocks are all in, row
   * by row over the kiln_nc columns: an optimizer update then streams its parameter arrays
   * (w, m, v) along rows, where tile by tile it read MR rows of 128 bytes, a row apart. W5's
   * Linear(9216, 128) with Adam: 4.5 ms tile by tile, 2.2 ms by rows
   * (bench/results/2026-12-05-w5-speed.md).
   */
  bool row_epilogue() const { return dynamic_ && !d_.swapped; }
  void rows_epilogue(const GemmEpilogue& epilogue) {
    loop("kiln_i", "0", c_dim(d_.rows), "1");
    w_.line("const " + t_ + "* __restrict kiln_row = kiln_part + kiln_i / kiln_mr * " +
            ll(nc_ / nr_) + " * (kiln_mr * " + ll(nr_) + ") + kiln_i % kiln_mr * " + ll(nr_) + ";");
    loop("kiln_jr", "0", "kiln_nc", ll(nr_));
    w_.line("const long long kiln_cols = " + c_min("kiln_nc - kiln_jr", ll(nr_)) + ";");
    w_.line("KILN_ROLLED_VECTOR");
    w_.open("for (long long jj = 0; jj < kiln_cols; ++jj)");
    e_.push_scope();
    const std::string j = e_.fresh("j");
    w_.line("const long long " + j + " = kiln_jc + kiln_jr + jj;");
    epilogue(Index{"kiln_i", j}, "kiln_row[kiln_jr * kiln_mr + jj]");
    e_.pop_scope();
    w_.close();
    w_.close();
    w_.close();
  }

  CodeWriter& w_;
  ExprEmitter& e_;
  const MatmulDesc& d_;
  const std::string t_, zero_;
  const int64_t nr_, nc_, k_, kc_;
  /** The depth is N: blocks of kc over every row (see the constants above). */
  const bool dynamic_;
  const bool split_, direct_;
  /** A's rows are this far apart in the tile's sliver (in place: K; copied: kc), else 0. */
  const int64_t stride_;
  /** The slivers may split over threads (see slivers). */
  const bool parallel_;
  /** MR of the AVX-512 tile (see wide_rows). */
  const int64_t wide_rows_;
  /** A short last sliver may take the tail tile of kTailRows rows (see call_tile). */
  const bool tail_;
  /** The micro-kernel of whole slivers (see tile_name). */
  const std::string tile_;
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

std::optional<MatmulDesc> transpose_matmul(const MatmulDesc& d) {
  const bool big_weight = d.cols != ir::kBatch && d.depth != ir::kBatch &&
                          d.cols * d.depth * ir::dtype_bytes(d.dtype) > kTransposeFrom;
  if (!ir::is_float(d.dtype) || d.rows != ir::kBatch || !d.tb || !big_weight || d.cols < kMinRows ||
      d.depth < kMinDepth)
    return std::nullopt;
  MatmulDesc t = d;
  t.a = d.b;
  t.b = d.a;
  t.ta = !d.tb;
  t.tb = !d.ta;
  t.rows = d.cols;
  t.cols = d.rows;
  t.swapped = true;
  return t;
}

GemmPlan plan_gemm(const MatmulDesc& d) {
  if (!ir::is_float(d.dtype))
    return {};
  if (d.swapped)
    return {true, kMinRows};
  if (d.cols == ir::kBatch)
    return {};
  if (d.depth == ir::kBatch)
    return {d.rows != ir::kBatch && d.rows >= kMinRows && d.cols >= kMinCols &&
                d.rows * d.cols >= kMinGradientArea,
            0};
  if (d.cols < kMinCols || d.depth < kMinDepth)
    return {};
  if (d.rows != ir::kBatch)
    return {d.rows >= kMinRows && d.rows * d.cols * d.depth >= kMinWork, 0};
  const int64_t per_row = d.cols * d.depth;
  if (per_row < kMinDynamicPerRow)
    return {};
  return {true, std::max(kMinRows, (kMinWork + per_row - 1) / per_row)};
}

int64_t gemm_workspace_bytes(const MatmulDesc& d) {
  const Layout l = layout(d);
  return l.b_bytes + l.a_bytes + l.partial_bytes;
}

void emit_blocked_matmul(CodeWriter& w, ExprEmitter& e, const MatmulDesc& d,
                         const GemmEpilogue& epilogue, GemmTiles& tiles) {
  KILN_ASSERT(plan_gemm(d).blocked, "emit_blocked_matmul: %", d.node,
              " does not fit the blocked GEMM");
  KILN_ASSERT(!d.workspace.empty(), "emit_blocked_matmul: no workspace for %", d.node);
  GemmEmitter emitter(w, e, d);
  for (auto& tile : emitter.tiles())
    tiles.insert(std::move(tile));
  emitter.emit(epilogue);
}

std::string render_gemm_tiles(const GemmTiles& tiles) {
  if (tiles.empty())
    return "";
  // Clang splits 64-byte vectors in two when it is tuned for 256-bit ones (icelake-client),
  // unless the function asks for 512 bits. Loops around the tile stay rolled: with every size
  // static, unrolled whole they make thousands of instructions (seconds of compile time) for
  // no speed, and a loop unrolled whole is no longer vectorized.
  std::string out = R"KILN(#ifdef __clang__
#define KILN_WIDE_VECTORS __attribute__((min_vector_width(512)))
#define KILN_ROLLED _Pragma("clang loop unroll(disable)")
#define KILN_ROLLED_VECTOR _Pragma("clang loop vectorize(enable) unroll(disable)")
#else
#define KILN_WIDE_VECTORS
#define KILN_ROLLED
#define KILN_ROLLED_VECTOR _Pragma("GCC ivdep")
#endif
)KILN";
  for (const auto& [name, text] : tiles)
    out += text;
  return out + "\n";
}

} // namespace kiln::codegen
