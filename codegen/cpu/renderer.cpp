#include "codegen/cpu/renderer.h"

#include <algorithm>
#include <cmath>
#include <set>

#include "base/error.h"
#include "base/hash.h"
#include "codegen/c_like.h"
#include "codegen/cpu/conv.h"
#include "codegen/cpu/epoch.h"
#include "codegen/cpu/evaluate.h"
#include "codegen/cpu/gemm.h"
#include "codegen/cpu/gradient_ready.h"
#include "codegen/cpu/parallel.h"
#include "codegen/cpu/row_block.h"
#include "codegen/group_emitter.h"
#include "codegen/pcg32.h"
#include "codegen/share_groups.h"
#include "codegen/split_units.h"

namespace kiln::codegen {

using ir::Node;
using ir::NodeId;
using ir::Op;

namespace {

constexpr const char* kLoopMacros = R"KILN(#ifdef __clang__
#ifdef __AVX512F__
// With mask registers a loop's remainder costs one masked vector op, not a scalar loop: the
// widths of small layers (10, 14, ...) are rarely multiples of the vector length.
#define KILN_VECTORIZE _Pragma("clang loop vectorize(enable) vectorize_predicate(enable)")
#else
#define KILN_VECTORIZE _Pragma("clang loop vectorize(enable) interleave(enable)")
#endif
#define KILN_REASSOCIATE _Pragma("clang fp reassociate(on)")
// Clang's compile time grows with the machine code it emits, and these two pragmas each took
// away code that ran no faster (bench/results/2026-11-28-compile-work.md). A loop over the batch
// is not unrolled: its body is large (a row of a product, a vector op over a layer) and four
// copies plus a remainder loop only fed the instruction selector. A product's row loop is not
// vectorized across rows: once its small column loops are unrolled, LLVM would otherwise turn
// it into gathers over rows behind alias checks, beside a scalar copy of the loop.
#define KILN_BATCH_LOOP _Pragma("clang loop unroll(disable)")
#define KILN_ROW_LOOP _Pragma("clang loop vectorize(disable) interleave(disable)")
// A window op's loop reads its operands at other indices (a pool's window) through index
// arithmetic that alias analysis cannot bound, and clang ignores __restrict on locals. A group
// never reads a buffer it writes at another index (codegen/schedule.h), so iterations are
// independent: safe to vectorize without runtime checks.
#define KILN_VECTORIZE_WINDOW _Pragma("clang loop vectorize(assume_safety)")
#else
#define KILN_VECTORIZE_WINDOW _Pragma("GCC ivdep")
#define KILN_VECTORIZE _Pragma("GCC ivdep")
#define KILN_REASSOCIATE
#define KILN_BATCH_LOOP
#define KILN_ROW_LOOP
#endif
static inline long long kiln_align64(long long bytes) { return (bytes + 63) & ~63LL; }
)KILN";

/** How the step declares a slot's pointer ("const float* __restrict"). */
std::string slot_pointer_type(const Slot& slot) {
  const bool readonly =
      slot.role == Slot::Role::Input || (slot.role == Slot::Role::Param && !slot.written);
  return (readonly ? "const " : "") + c_type_of(slot.type.dtype) + "* __restrict";
}

/** Outputs up to this many elements accumulate in one local array (16 KiB of floats). */
constexpr int64_t kWholeOutputLimit = 4096;
/** Static loops this long (and not vectorized) are kept rolled, as loops over the batch are. */
constexpr int64_t kRolledRows = 64;

class CpuEmitter : public GroupEmitter {
public:
  /** `threads`: CpuOptions::threads. */
  CpuEmitter(const Schedule& sc, int threads) : GroupEmitter(sc, Target{}), threads_(threads) {}

  /**
   * The step's statements; loop nests that repeat (deep nets) become shared functions. `ready`:
   * the gradients reported after each group and after the tail (gradients_ready_after), or {}.
   */
  SharedGroups body(const std::vector<std::vector<int>>& ready) {
    std::vector<std::string> blocks;
    auto report = [&](size_t after) { // a block of its own, so that groups stay shareable
      if (!ready.empty() && !ready[after].empty())
        blocks.push_back(gradient_ready_calls(sc_, ready[after]));
    };
    for (size_t g = 0; g < sc_.groups.size(); ++g) {
      const size_t before = w_.str().size();
      group(sc_.groups[g]);
      blocks.push_back(w_.str().substr(before));
      report(g);
    }
    blocks.push_back(tail());
    report(sc_.groups.size());
    return share_repeated_groups(blocks, [&](const std::string& b) { return buffer_type(b); });
  }

  /** The step as row blocks (codegen/cpu/row_block.h): one block of statements. */
  RowBlockCode row_block_body(const RowBlockPlan& plan, int max_units,
                              const std::vector<std::vector<int>>& ready) {
    RowBlockCode out = render_row_block(
        *this, plan, max_units, [&](const Group& grp) { group(grp); },
        [&](const std::string& b) { return buffer_type(b); });
    out.shared.body += tail();
    if (!ready.empty()) // summed over the blocks: final only now
      out.shared.body += gradient_ready_calls(sc_, ready.back());
    out.shared.blocks = {out.shared.body};
    return out;
  }

  /** Workspace bytes after the scratch buffers that body()'s blocked matmuls and convolutions
      use. */
  int64_t gemm_workspace() const { return gemm_workspace_; }
  /** The micro-kernels body()'s blocked matmuls call. */
  const GemmTiles& gemm_tiles() const { return tiles_; }

private:
  /** One group of the group-by-group path, with its title line. */
  void group(const Group& grp) {
    w_.line(title(grp));
    switch (grp.kind) {
    case Group::Kind::Pointwise:
      pointwise(grp);
      break;
    case Group::Kind::Reduce:
      reduce(grp);
      break;
    case Group::Kind::MatMul:
      matmul(grp);
      break;
    case Group::Kind::Window:
      window(grp);
      break;
    }
  }

  /** The output copies and copy-backs that end every step. */
  std::string tail() {
    const size_t start = w_.str().size();
    for (const auto& [slot, node] : sc_.output_copies)
      copy(slot, node);
    for (const auto& [from, to] : sc_.copy_back) {
      const Slot& dst = sc_.slots[static_cast<size_t>(to)];
      w_.line("// update " + dst.name + " (it is read after its new value is known)");
      w_.line("KILN_VECTORIZE");
      w_.open("for (long long i = 0; i < " + c_numel(dst.type.shape.dims()) + "; ++i)");
      w_.line(ExprEmitter::slot_name(to) + "[i] = " + ExprEmitter::slot_name(from) + "[i];");
      w_.close();
    }
    return w_.str().substr(start);
  }

  /** The C type of a buffer named in a shared group's call. */
  std::string buffer_type(const std::string& buffer) const {
    const std::string t = row_block_buffer_type(sc_, buffer);
    return t.empty() ? slot_pointer_type(sc_.slots[std::stoul(buffer.substr(1))]) : t;
  }

  /**
   * Opens one loop per dim of `dims` and returns the index; the innermost gets `pragma`, and a
   * loop over the batch, or over many static rows, KILN_BATCH_LOOP.
   */
  Index open_loops(const std::vector<int64_t>& dims, const std::string& stem, const char* pragma) {
    Index idx;
    for (size_t d = 0; d < dims.size(); ++d) {
      const std::string v = e_.fresh(stem);
      const bool innermost = d + 1 == dims.size();
      if (innermost && pragma)
        w_.line(pragma);
      // Rows of a fixed point set are the batch of a physics-informed step: unrolled 8 times,
      // a row of a product with its accumulator made one block that took instruction
      // selection 4x longer for the whole step, for no speed. Vectorized loops stay as they are.
      const bool vectorized = innermost && pragma && std::string(pragma) == "KILN_VECTORIZE";
      const bool rows = dims[d] >= kRolledRows && !vectorized;
      if (dims[d] == ir::kBatch || rows)
        w_.line("KILN_BATCH_LOOP");
      w_.open("for (long long " + v + " = 0; " + v + " < " + c_dim(dims[d]) + "; ++" + v + ")");
      idx.push_back(v);
    }
    if (dims.empty())
      w_.open("");
    return idx;
  }
  void close_loops(size_t n) {
    for (size_t i = 0; i < std::max<size_t>(n, 1); ++i)
      w_.close();
  }

  /** A fresh `const t t<r> = expr;` for node r; returns its name. */
  std::string named(NodeId r, const std::string& t, const std::string& expr) {
    const std::string name = e_.fresh("t" + std::to_string(r));
    w_.line("const " + t + " " + name + " = " + expr + ";");
    return name;
  }

  void pointwise(const Group& grp) {
    const Index idx = open_loops(grp.domain.dims(), "i", "KILN_VECTORIZE");
    e_.push_scope();
    roots_at(grp, 0, idx);
    e_.pop_scope();
    close_loops(idx.size());
  }

  /**
   * A reduction that keeps the innermost axis into a small static output (e.g. a bias gradient,
   * summed over the batch): the reduced loops run outermost and the kept ones, contiguous,
   * innermost into an accumulator array, so it vectorizes; then the epilogue as one loop.
   */
  void outer_reduce(const Group& grp, const std::vector<int64_t>& rdims) {
    const NodeId r = grp.roots[0];
    const Node& n = g_.node(r);
    const NodeId x = n.inputs[0];
    const ir::Shape& in = g_.node(x).type.shape;
    const std::vector<int64_t>& axes = n.attrs.ints("axes");
    const std::string t = c_type_of(n.type.dtype);
    const std::string acc = e_.fresh("acc");
    w_.line(t + " " + acc + "[" + std::to_string(grp.domain.static_numel()) + "];");
    const Index q = open_loops({grp.domain.static_numel()}, "q", "KILN_VECTORIZE");
    w_.line(acc + "[" + q[0] + "] = " + reduce_identity(n) + ";");
    close_loops(1);
    const Index red = open_loops(rdims, "r", nullptr);
    const Index out = open_loops(grp.domain.dims(), "i", "KILN_VECTORIZE");
    e_.push_scope();
    Index at;
    for (int d = 0, o = 0, k = 0; d < in.rank(); ++d) {
      const bool reduced = k < static_cast<int>(axes.size()) && axes[static_cast<size_t>(k)] == d;
      at.push_back(reduced ? red[static_cast<size_t>(k++)] : out[static_cast<size_t>(o++)]);
    }
    const std::string v = e_.value(x, at);
    w_.line(reduce_combine(n, acc + "[" + c_offset(grp.domain, out) + "]", v));
    e_.pop_scope();
    close_loops(out.size() + red.size());
    const Index o = open_loops(grp.domain.dims(), "i", "KILN_VECTORIZE");
    e_.push_scope();
    const std::string result =
        reduce_finalize(n, acc + "[" + c_offset(grp.domain, o) + "]", c_numel(rdims));
    finish_root(grp, r, o, named(r, t, result));
    e_.pop_scope();
    close_loops(o.size());
  }

  void reduce(const Group& grp) {
    const NodeId r = grp.roots[0];
    const Node& n = g_.node(r);
    const NodeId x = n.inputs[0];
    const ir::Shape& in = g_.node(x).type.shape;
    const std::vector<int64_t>& axes = n.attrs.ints("axes");
    const std::string t = c_type_of(n.type.dtype);
    std::vector<int64_t> rdims;
    for (int64_t a : axes)
      rdims.push_back(in[static_cast<int>(a)]);
    const Index out = open_loops(grp.domain.dims(), "i", nullptr);
    e_.push_scope();
    if (g_.node(x).op == Op::Constant) {
      // A reduction of a splat needs no loop (mean's derivative divides by such a count).
      const std::string c = c_literal(g_.node(x).attrs.f("value"), n.type.dtype);
      finish_root(grp, r, out, named(r, t, reduce_of_splat(n, c, c_numel(rdims))));
      e_.pop_scope();
      close_loops(out.size());
      return;
    }
    const bool last_kept = axes.empty() || axes.back() != in.rank() - 1;
    if (last_kept && !grp.domain.has_batch() && grp.domain.static_numel() <= kWholeOutputLimit) {
      e_.pop_scope();
      close_loops(out.size());
      return outer_reduce(grp, rdims);
    }
    // Trailing reduced axes of a buffer (not its rows) are contiguous: one flat loop reads them
    // (index 0, ..., 0, r). Nested, clang kept W5's bias gradients scalar (1.15 ms, flat 0.2).
    size_t merged = 0;
    while (sc_.storage[x] != Storage::Inline && merged < axes.size() &&
           axes[axes.size() - 1 - merged] == in.rank() - 1 - static_cast<int64_t>(merged) &&
           in.rank() - 1 - static_cast<int64_t>(merged) > 0 &&
           rdims[rdims.size() - 1 - merged] != ir::kBatch)
      ++merged;
    std::vector<int64_t> loops = rdims;
    for (size_t k = rdims.size() - merged + 1; merged > 1 && k < rdims.size(); ++k)
      loops[rdims.size() - merged] *= rdims[k];
    loops.resize(rdims.size() - (merged > 1 ? merged - 1 : 0));
    const std::string acc = e_.fresh("acc");
    w_.line(t + " " + acc + " = " + reduce_identity(n) + ";");
    const Index red = open_loops(loops, "r", "KILN_VECTORIZE");
    w_.line("KILN_REASSOCIATE");
    e_.push_scope();
    Index at;
    for (int d = 0, o = 0, k = 0; d < in.rank(); ++d) {
      const bool reduced = k < static_cast<int>(axes.size()) && axes[static_cast<size_t>(k)] == d;
      const size_t kk = static_cast<size_t>(k);
      if (reduced && kk + 1 >= loops.size() && kk + 1 < axes.size())
        at.push_back("0"); // a merged axis before the last
      else if (reduced)
        at.push_back(red[std::min(kk, red.size() - 1)]);
      else
        at.push_back(out[static_cast<size_t>(o++)]);
      k += reduced;
    }
    w_.line(reduce_combine(n, acc, e_.value(x, at)));
    e_.pop_scope();
    close_loops(red.size());
    finish_root(grp, r, out, named(r, t, reduce_finalize(n, acc, c_numel(rdims))));
    e_.pop_scope();
    close_loops(out.size());
  }

  /** A window op (convolution, pooling): its rule's loops at every element, then the epilogue. */
  void window(const Group& grp) {
    const NodeId r = grp.roots[0];
    if (std::optional<ConvDesc> d = conv_plan(sc_, r)) {
      // A convolution: the direct convolution, packing into the GEMMs' workspace.
      d->workspace = "kiln_ws";
      d->threads = threads_;
      gemm_workspace_ = std::max(gemm_workspace_, conv_workspace_bytes(*d));
      emit_direct_conv(w_, e_, *d,
                       [&](const Index& at, const std::string& v) { finish_root(grp, r, at, v); });
      return;
    }
    // Straight-line renderings (pooling over tiling windows) vectorize along the last axis,
    // several consecutive elements per iteration where the op's rule says they share reads.
    const ir::WindowRule& rule = *g_.node(r).def().window;
    const std::vector<int64_t>& dims = grp.domain.dims();
    const int64_t together = rule.columns_together ? rule.columns_together(g_.node(r)) : 1;
    int64_t rows = rule.rows_together ? rule.rows_together(g_.node(r)) : 1;
    const size_t rank = dims.size();
    if (rows > 1 && (rank < 2 || dims[rank - 2] == ir::kBatch || dims[rank - 2] % rows != 0))
      rows = 1;
    if (together > 1 && rank > 0 && dims.back() != ir::kBatch && dims.back() % together == 0) {
      std::vector<int64_t> outer = dims;
      outer.back() /= together;
      if (rows > 1)
        outer[rank - 2] /= rows;
      Index idx = open_loops(outer, "i", "KILN_VECTORIZE_WINDOW");
      const Index base = idx;
      auto part = [](const std::string& b, int64_t n, int64_t k) {
        return n == 1 ? b : "(" + b + " * " + std::to_string(n) + " + " + std::to_string(k) + ")";
      };
      for (int64_t kr = 0; kr < rows; ++kr)
        for (int64_t k = 0; k < together; ++k) {
          e_.push_scope();
          if (rank > 1)
            idx[rank - 2] = part(base[rank - 2], rows, kr);
          idx.back() = part(base.back(), together, k);
          const std::string v = e_.window(r, idx);
          finish_root(grp, r, idx, named(r, c_type_of(g_.node(r).type.dtype), v));
          e_.pop_scope();
        }
      close_loops(idx.size());
      return;
    }
    const Index idx = open_loops(dims, "i", "KILN_VECTORIZE_WINDOW");
    e_.push_scope();
    const std::string v = e_.window(r, idx);
    finish_root(grp, r, idx, named(r, c_type_of(g_.node(r).type.dtype), v));
    e_.pop_scope();
    close_loops(idx.size());
  }

  void matmul(const Group& grp) {
    MatmulDesc d = describe_matmul(g_, grp.roots[0]);
    if (std::optional<MatmulDesc> t = transpose_matmul(d))
      d = *t;
    const GemmPlan plan = plan_gemm(d);
    if (!plan.blocked) {
      const ir::Shape& out = g_.node(grp.roots[0]).type.shape;
      // Thin outputs (a column or a few): a row at a time would be scalar, so either the
      // whole output accumulates down the rows, where A's rows are contiguous (A^T, a weight
      // gradient), or every row takes dot products along the depth (x w^T into one column, as
      // a network's output at a fixed set of points: down the rows it would gather).
      if (out[0] != ir::kBatch && out[1] != ir::kBatch && out[1] < 8 && out[0] > out[1] &&
          out[0] * out[1] <= kWholeOutputLimit)
        return d.ta ? whole_matmul(grp) : rowwise_matmul(grp, true);
      return rowwise_matmul(grp);
    }
    // Large products: the blocked GEMM, packing into the workspace after the scratch buffers.
    d.workspace = "kiln_ws";
    d.threads = threads_;
    gemm_workspace_ = std::max(gemm_workspace_, gemm_workspace_bytes(d));
    auto epilogue = [&](const Index& at, const std::string& v) { finish_root(grp, d.node, at, v); };
    if (plan.min_batch > 0)
      w_.open("if (N >= " + std::to_string(plan.min_batch) + ")");
    emit_blocked_matmul(w_, e_, d, epilogue, tiles_);
    if (plan.min_batch == 0)
      return;
    w_.reopen("else");
    rowwise_matmul(grp);
    w_.close();
  }

  /**
   * A product whose whole (static, small) output fits in an accumulator array: the depth loop
   * runs outermost, so weight gradients summed over the batch and thin outputs (one column)
   * still vectorize, and the epilogue (an optimizer update) runs as one vector loop.
   */
  void whole_matmul(const Group& grp) {
    const NodeId m = grp.roots[0];
    const Node& n = g_.node(m);
    const NodeId a = n.inputs[0], b = n.inputs[1];
    const bool ta = n.attrs.i("ta") != 0, tb = n.attrs.i("tb") != 0;
    const int64_t rows = n.type.shape[0], cols = n.type.shape[1];
    const int64_t k = g_.node(a).type.shape[ta ? 0 : 1];
    const std::string t = c_type_of(n.type.dtype), c = std::to_string(cols);
    // Vectorize over the longer of the two output dims, which is also the accumulator's
    // contiguous one: by rows, it holds the output transposed, so the inner loop stores whole
    // vectors instead of scattering with a stride of `cols` (a first layer's weight gradient,
    // [32, 2], took 10x longer that way).
    const bool by_rows = cols < 8 && rows > cols;
    const std::string r = std::to_string(rows);
    auto cell = [&](const std::string& i, const std::string& j) {
      return by_rows ? j + "*" + r + " + " + i : i + "*" + c + " + " + j;
    };
    const std::string acc = e_.fresh("acc");
    w_.line(t + " " + acc + "[" + std::to_string(rows * cols) + "];");
    Index q = open_loops({rows * cols}, "q", "KILN_VECTORIZE");
    w_.line(acc + "[" + q[0] + "] = " + c_literal(0, n.type.dtype) + ";");
    close_loops(1);
    const Index kk = open_loops({k}, "k", nullptr);
    const Index outer = open_loops({by_rows ? cols : rows}, by_rows ? "j" : "i", nullptr);
    e_.push_scope();
    const std::string fixed = e_.fresh(by_rows ? "bv" : "av");
    w_.line("const " + t + " " + fixed + " = " +
            (by_rows ? e_.value(b, tb ? Index{outer[0], kk[0]} : Index{kk[0], outer[0]})
                     : e_.value(a, ta ? Index{kk[0], outer[0]} : Index{outer[0], kk[0]})) +
            ";");
    const Index inner = open_loops({by_rows ? rows : cols}, by_rows ? "i" : "j", "KILN_VECTORIZE");
    e_.push_scope();
    const std::string i = by_rows ? inner[0] : outer[0], j = by_rows ? outer[0] : inner[0];
    const std::string other = by_rows ? e_.value(a, ta ? Index{kk[0], i} : Index{i, kk[0]})
                                      : e_.value(b, tb ? Index{j, kk[0]} : Index{kk[0], j});
    w_.line(acc + "[" + cell(i, j) + "] += " + fixed + " * " + other + ";");
    e_.pop_scope();
    close_loops(1);
    e_.pop_scope();
    close_loops(2);
    const Index eo = open_loops({by_rows ? cols : rows}, by_rows ? "j" : "i", nullptr);
    const Index ei = open_loops({by_rows ? rows : cols}, by_rows ? "i" : "j", "KILN_VECTORIZE");
    e_.push_scope();
    const Index at = by_rows ? Index{ei[0], eo[0]} : Index{eo[0], ei[0]};
    const std::string v = acc + "[" + cell(at[0], at[1]) + "]";
    finish_root(grp, m, at, v);
    e_.pop_scope();
    close_loops(2);
  }

  /** One row of the product at a time; `dots`: each element a dot product along the depth. */
  void rowwise_matmul(const Group& grp, bool dots = false) {
    const NodeId m = grp.roots[0];
    const Node& n = g_.node(m);
    const NodeId a = n.inputs[0], b = n.inputs[1];
    const bool ta = n.attrs.i("ta") != 0, tb = n.attrs.i("tb") != 0;
    const int64_t rows = n.type.shape[0], cols = n.type.shape[1];
    const int64_t k = g_.node(a).type.shape[ta ? 0 : 1];
    const std::string t = c_type_of(n.type.dtype);
    auto A = [&](const std::string& i, const std::string& kk) {
      return e_.value(a, ta ? Index{kk, i} : Index{i, kk});
    };
    auto B = [&](const std::string& kk, const std::string& j) {
      return e_.value(b, tb ? Index{j, kk} : Index{kk, j});
    };

    // B transposed (a layer's weight as y W^T): copy it once, transposed, so the row loop below
    // streams contiguous rows of it instead of a horizontal sum per output.
    std::string bt;
    if (tb && !dots && cols != ir::kBatch && k != ir::kBatch && cols * k <= kWholeOutputLimit * 2 &&
        rows != 1) {
      bt = e_.fresh("bt");
      w_.line(t + " " + bt + "[" + std::to_string(cols * k) + "];");
      // Rows of the copy are written whole (contiguous stores; the reads gather), since a
      // gather is several times cheaper than a scatter.
      const Index kk = open_loops({k}, "k", nullptr);
      const Index jj = open_loops({cols}, "j", "KILN_VECTORIZE");
      e_.push_scope();
      w_.line(bt + "[" + kk[0] + "*" + std::to_string(cols) + " + " + jj[0] +
              "] = " + e_.value(b, Index{jj[0], kk[0]}) + ";");
      e_.pop_scope();
      close_loops(2);
    }
    auto Bt = [&](const std::string& kk, const std::string& j) {
      return bt.empty() ? B(kk, j) : bt + "[" + kk + "*" + std::to_string(cols) + " + " + j + "]";
    };
    const Index row = open_loops({rows}, "i", "KILN_ROW_LOOP");
    if (cols != ir::kBatch) {
      // One row of the product at a time, accumulated in registers, then the epilogue.
      const std::string acc = e_.fresh("acc");
      w_.line(t + " " + acc + "[" + std::to_string(cols) + "];");
      Index j = open_loops({cols}, "j", "KILN_VECTORIZE");
      w_.line(acc + "[" + j[0] + "] = " + c_literal(0, n.type.dtype) + ";");
      close_loops(1);
      if (!dots && (!tb || !bt.empty())) {
        const Index kk = open_loops({k}, "k", nullptr);
        e_.push_scope();
        const std::string av = e_.fresh("a");
        w_.line("const " + t + " " + av + " = " + A(row[0], kk[0]) + ";");
        j = open_loops({cols}, "j", "KILN_VECTORIZE");
        e_.push_scope();
        w_.line(acc + "[" + j[0] + "] += " + av + " * " + Bt(kk[0], j[0]) + ";");
        e_.pop_scope();
        close_loops(1);
        e_.pop_scope();
        close_loops(1);
      } else {
        j = open_loops({cols}, "j", nullptr);
        const std::string s = e_.fresh("s");
        w_.line(t + " " + s + " = " + c_literal(0, n.type.dtype) + ";");
        const Index kk = open_loops({k}, "k", "KILN_VECTORIZE");
        w_.line("KILN_REASSOCIATE");
        e_.push_scope();
        w_.line(s + " += " + A(row[0], kk[0]) + " * " + B(kk[0], j[0]) + ";");
        e_.pop_scope();
        close_loops(1);
        w_.line(acc + "[" + j[0] + "] = " + s + ";");
        close_loops(1);
      }
      j = open_loops({cols}, "j", "KILN_VECTORIZE");
      e_.push_scope();
      const Index at{row[0], j[0]};
      finish_root(grp, m, at, acc + "[" + j[0] + "]");
      e_.pop_scope();
      close_loops(1);
    } else {
      // A dynamic number of columns: one dot product per element.
      const Index j = open_loops({cols}, "j", nullptr);
      e_.push_scope();
      const std::string s = e_.fresh("s");
      w_.line(t + " " + s + " = " + c_literal(0, n.type.dtype) + ";");
      const Index kk = open_loops({k}, "k", "KILN_VECTORIZE");
      w_.line("KILN_REASSOCIATE");
      e_.push_scope();
      w_.line(s + " += " + A(row[0], kk[0]) + " * " + B(kk[0], j[0]) + ";");
      e_.pop_scope();
      close_loops(1);
      const Index at{row[0], j[0]};
      finish_root(grp, m, at, s);
      e_.pop_scope();
      close_loops(1);
    }
    close_loops(1);
  }

  void copy(int slot, NodeId node) {
    w_.line("// output " + sc_.slots[static_cast<size_t>(slot)].name + " = %" +
            std::to_string(node));
    const Index idx = open_loops(g_.node(node).type.shape.dims(), "i", "KILN_VECTORIZE");
    e_.push_scope();
    const std::string v = e_.value(node, idx);
    w_.line(ExprEmitter::slot_name(slot) + "[" + c_offset(g_.node(node).type.shape, idx) +
            "] = " + v + ";");
    e_.pop_scope();
    close_loops(idx.size());
  }

  /** Bytes the blocked matmuls pack into, after the scratch buffers. */
  int64_t gemm_workspace_ = 0;
  GemmTiles tiles_;
  const int threads_;
};

/** The slot pointers; `local` slots (row values of a row-block step) get none. */
std::string signature_block(const Schedule& sc, std::vector<ScratchSize>& scratch,
                            const std::vector<bool>* local) {
  CodeWriter w;
  w.line("(void)N;");
  w.line("char* kiln_ws = (char*)workspace;");
  w.line("(void)kiln_ws;");
  for (size_t s = 0; s < sc.slots.size(); ++s) {
    const Slot& slot = sc.slots[s];
    if (local && (*local)[s])
      continue;
    const std::string t = c_type_of(slot.type.dtype);
    const std::string name = ExprEmitter::slot_name(static_cast<int>(s));
    const bool readonly =
        slot.role == Slot::Role::Input || (slot.role == Slot::Role::Param && !slot.written);
    const std::string decl = slot_pointer_type(slot) + " " + name;
    if (slot.role != Slot::Role::Scratch) {
      w.line(decl + " = (" + (readonly ? "const " : "") + t + "*)slots[" + std::to_string(s) +
             "]; // " + slot.name + " " + slot.type.str());
      continue;
    }
    const int64_t elem = ir::dtype_bytes(slot.type.dtype);
    const ir::Shape& shape = slot.type.shape;
    scratch.push_back({shape.has_batch() ? shape.static_numel() * elem : 0,
                       shape.has_batch() ? 0 : shape.static_numel() * elem});
    w.line(decl + " = (" + t + "*)kiln_ws; // " + slot.name + " " + slot.type.str());
    w.line("kiln_ws += kiln_align64((long long)sizeof(" + t + ") * " + c_numel(shape.dims()) +
           ");");
  }
  return w.str();
}

} // namespace

int64_t CpuKernel::workspace_bytes(int64_t N) const {
  int64_t total = 0;
  for (const ScratchSize& s : scratch)
    total += (s.per_batch * N + s.fixed + 63) & ~int64_t{63};
  return total;
}

int64_t CpuKernel::epoch_workspace_bytes(int64_t n, int64_t batch) const {
  auto align = [](int64_t b) { return (b + 63) & ~int64_t{63}; };
  int64_t total = align(workspace_bytes(batch)) + align(8 * n);
  for (const std::string& name : epoch_data) {
    const Slot& s = schedule.slots[slot_named(schedule, Slot::Role::Input, name)];
    total += align(ir::dtype_bytes(s.type.dtype) * batch * s.type.shape.static_numel());
  }
  return total;
}

CpuKernel render_cpu(const ir::Graph& g, const CpuOptions& options) {
  CpuKernel k;
  k.schedule = schedule(g, options.updates);
  // Small steps run as one loop over blocks of rows, larger ones group by group.
  const std::optional<RowBlockPlan> rows = plan_row_block(k.schedule, options.batch_hint);
  const std::string decls = signature_block(k.schedule, k.scratch, rows ? &rows->local : nullptr);
  CpuEmitter emitter(k.schedule, options.threads);
  const std::vector<std::vector<int>> ready =
      options.gradient_ready ? gradients_ready_after(k.schedule, rows.has_value())
                             : std::vector<std::vector<int>>{};
  RowBlockCode row_code;
  if (rows)
    row_code = emitter.row_block_body(*rows, options.max_units, ready);
  const SharedGroups shared = rows ? row_code.shared : emitter.body(ready);
  k.row_block = rows ? rows->rows : 0;
  const std::string& body = shared.body;
  if (emitter.gemm_workspace() > 0)
    k.scratch.push_back({0, emitter.gemm_workspace()});

  std::string comment = "// kiln CPU kernel. Groups (one loop nest each; * = stored):\n";
  for (size_t gi = 0; gi < k.schedule.groups.size(); ++gi) {
    std::string line = "//   " + std::to_string(gi) + ":";
    for (NodeId r : k.schedule.groups[gi].roots)
      line += str(" ", ir::op_name(g.node(r).op), k.schedule.stored[r] ? "*" : "");
    comment += line + "\n";
  }
  // The name comes from the content, so identical graphs share one cache entry and one symbol.
  const std::string tiles = render_gemm_tiles(emitter.gemm_tiles());
  k.name = "kiln_" + hash_hex128(tiles + shared.functions + decls + body +
                                 (options.gradient_ready ? "ready" : ""))
                         .substr(0, 16);
  if (options.gradient_ready)
    k.ready_symbol = k.name + "_ready";
  // Code that splits loops over the runtime's threads (codegen/cpu/parallel.h) sees its pool.
  if (uses_parallel(shared.functions) || uses_parallel(body))
    k.pool_symbol = k.name + "_pool";
  // One copy of the step, called by the entry point and by the epoch loop (a call per step
  // costs nanoseconds; a second inlined copy doubles clang's time).
  const std::string head = comment + cpu_prelude() + kLoopMacros +
                           (k.pool_symbol.empty() ? "" : parallel_source(k.pool_symbol)) +
                           (k.ready_symbol.empty() ? "" : gradient_ready_source(k.ready_symbol)) +
                           "\n" + tiles;
  // A row-block step splits by itself (render_row_block); a step of groups in runs of them.
  const std::vector<size_t> starts = unit_starts(shared, rows ? 1 : options.max_units);
  if (!row_code.second_unit.empty()) {
    k.parts.push_back(head + row_code.second_unit);
    k.vectorizer_only = true;
  }
  auto unit = [&](size_t u) { // the body and the shared functions of unit u
    std::pair<std::string, std::string> out;
    std::set<std::string> used;
    const size_t end = u + 1 < starts.size() ? starts[u + 1] : shared.blocks.size();
    for (size_t i = starts[u]; i < end; ++i) {
      out.first += shared.blocks[i];
      if (!shared.calls[i].empty() && used.insert(shared.calls[i]).second)
        out.second += shared.function_text.at(shared.calls[i]);
    }
    return out;
  };
  constexpr size_t kMaxSpecializedSource = 60000;
  // A row-block step already takes the hint as its block of rows: no second copy.
  const bool fixed = !rows && options.batch_hint && *options.batch_hint > 0 &&
                     decls.size() + body.size() < kMaxSpecializedSource;
  const std::string hint = fixed ? std::to_string(*options.batch_hint) : "";
  const std::string fixed_n = "  const long long N = " + hint + ";\n";
  // Units 1..: extern "C" functions with their runs of groups, called from the step in order.
  // The copy for the batch hint, the one training runs, stays whole (one function, optimized
  // across groups) in a unit of its own.
  const bool split = starts.size() > 1;
  std::string calls, declarations;
  for (size_t u = 1; u < starts.size(); ++u) {
    const auto [part_body, part_functions] = unit(u);
    const std::string fn = k.name + "_u" + std::to_string(u);
    const std::string signature =
        "extern \"C\" void " + fn + "(long long N, void* const* slots, void* workspace)";
    k.parts.push_back(head + part_functions + signature + " {\n" + indented(decls + part_body) +
                      "}\n");
    declarations += signature + ";\n";
    calls += fn + "(N, slots, workspace);\n";
  }
  const std::string fixed_name = k.name + "_fixed";
  if (split && fixed) {
    const std::string signature =
        "extern \"C\" void " + fixed_name + "(void* const* slots, void* workspace)";
    k.parts.push_back(head + shared.functions + signature + " {\n" + fixed_n +
                      indented(decls + body) + "}\n");
    declarations += signature + ";\n";
  }
  const auto [first_body, first_functions] = unit(0);
  // Unsplit, unit 0 is the whole body with every shared function (in the order defined).
  // A row-block step is one block that calls its block function and the shared groups.
  std::string out = head + (rows ? shared.functions : first_functions) + declarations;
  if (!k.pool_symbol.empty())
    out += parallel_definition(k.pool_symbol) + "\n";
  if (!k.ready_symbol.empty())
    out += gradient_ready_definition(k.ready_symbol) + "\n";
  auto step_function = [&](const std::string& name, const std::string& signature,
                           const std::string& first, const std::string& text) {
    out += "__attribute__((noinline)) static void " + name + signature + " {\n" + first +
           indented(decls + text) + "}\n\n";
  };
  step_function("kiln_step", "(long long N, void* const* slots, void* workspace)", "",
                first_body + calls);
  std::string call = "kiln_step(N, slots, workspace);";
  if (fixed && split) {
    call = "if (N == " + hint + ") " + fixed_name + "(slots, workspace); else " + call;
  } else if (fixed) {
    step_function("kiln_step_fixed", "(void* const* slots, void* workspace)", fixed_n, body);
    call = "if (N == " + hint + ") kiln_step_fixed(slots, workspace); else " + call;
  }
  out += "static inline void kiln_run(long long N, void* const* slots, void* workspace) {\n  " +
         call + "\n}\n\n";
  out += "extern \"C\" void " + k.name +
         "(long long N, void* const* slots, void* workspace) {\n"
         "  kiln_run(N, slots, workspace);\n}\n";
  if (options.epoch) {
    k.epoch_name = k.name + "_epoch";
    k.epoch_data = options.epoch->data;
    CodeWriter ws;
    ws.open("static inline long long kiln_step_workspace(long long N)");
    ws.line("long long total = 0;");
    for (const ScratchSize& sz : k.scratch)
      ws.line("total += kiln_align64(" + std::to_string(sz.per_batch) + "LL * N + " +
              std::to_string(sz.fixed) + "LL);");
    ws.line("(void)N;");
    ws.line("return total;");
    ws.close();
    out += "\n" + pcg32_source("static inline") + ws.str() + epoch_function(k, *options.epoch);
  }
  if (options.evaluate) {
    k.evaluate_name = k.name + "_evaluate";
    k.evaluate_block = evaluate_block(k);
    out += "\n" + evaluate_function(k, *options.evaluate);
  }
  k.source = out;
  return k;
}

} // namespace kiln::codegen
