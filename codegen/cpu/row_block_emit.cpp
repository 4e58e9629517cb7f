// The row-block step's source (codegen/cpu/row_block.h): each group inside and around the loop
// over blocks of rows, and the step assembled from them.

#include <algorithm>

#include "base/error.h"
#include "codegen/c_like.h"
#include "codegen/cpu/row_block.h"
#include "codegen/cpu/row_block_step.h"
#include "codegen/cpu/row_block_util.h"
#include "codegen/cpu/thin_dots.h"
#include "codegen/cpu/transpose.h"
#include "codegen/split_units.h"

namespace kiln::codegen {

using ir::Node;
using ir::NodeId;
using namespace row_block;

namespace {

/** Where a Reduce group keeps its partial sums. */
struct Accumulator {
  enum class Layout : uint8_t {
    Flat, ///< the domain row-major (scalar loops), padded at the end
    Rows, ///< a product A^T B as [rows][cols padded]: vectors over the columns
    Cols, ///< a product A^T B as [cols][rows padded]: vectors over the rows
  };
  Layout layout = Layout::Flat;
  /** Rows and columns run on vectors (else scalar loops that LLVM may vectorize). */
  bool vector = false;
  int64_t pitch = 0, size = 0;
};

class Renderer {
public:
  Renderer(GroupEmitter& ge, const RowBlockPlan& plan)
      : ge_(ge), w_(ge.w()), e_(ge.e()), sc_(ge.schedule()), g_(sc_.graph), plan_(plan) {
    e_.set_reciprocal_divisors(true);
    for (size_t s = 0; s < sc_.slots.size(); ++s) {
      if (plan_.local[s])
        e_.set_row_pitch(static_cast<int>(s), pitch_of(s));
      else if (leading_batch(sc_.slots[s].type.shape))
        e_.set_row_offset(static_cast<int>(s), "kiln_r0");
    }
    acc_.resize(sc_.groups.size());
    for (size_t gi = 0; gi < sc_.groups.size(); ++gi)
      if (plan_.phase[gi] == Phase::Reduce)
        acc_[gi] = accumulator(gi);
  }

  /** A local slot's row pitch: the row padded to whole vectors. */
  int64_t pitch_of(size_t s) const {
    const Slot& slot = sc_.slots[s];
    const int64_t n = slot.type.shape.static_numel();
    return n < kMinPadded ? n : padded(n, slot.type.dtype);
  }
  /** Whether `n` is read from a padded row array of the block: whole vectors may be loaded. */
  bool local_row(NodeId n) const {
    const int s = sc_.slot_of[n];
    return sc_.storage[n] == Storage::Root && s >= 0 && plan_.local[static_cast<size_t>(s)] &&
           pitch_of(static_cast<size_t>(s)) % lanes(g_.node(n).type.dtype) == 0;
  }
  /** Vector c of row r of local row value n ("(*(const kiln_vf*)(b23 + r*16 + 16))"). */
  std::string row_vector(NodeId n, const std::string& r, int64_t c) const {
    const size_t s = static_cast<size_t>(sc_.slot_of[n]);
    const ir::DType dt = g_.node(n).type.dtype;
    return load(dt, ExprEmitter::slot_name(static_cast<int>(s)) + " + " + r + "*" +
                        std::to_string(pitch_of(s)) +
                        (c ? " + " + std::to_string(c * lanes(dt)) : ""));
  }

  Accumulator accumulator(size_t gi) const {
    const Group& grp = sc_.groups[gi];
    const Node& n = g_.node(grp.roots[0]);
    const ir::DType dt = n.type.dtype;
    Accumulator a;
    a.size = padded(grp.domain.static_numel(), dt);
    if (grp.kind == Group::Kind::MatMul) {
      const Product p = product(g_, grp.roots[0]);
      if (local_row(p.b)) {
        a = {Accumulator::Layout::Rows, true, padded(p.cols, dt), p.rows * padded(p.cols, dt)};
      } else if (local_row(p.a)) {
        a = {Accumulator::Layout::Cols, true, padded(p.rows, dt), p.cols * padded(p.rows, dt)};
      }
      return a;
    }
    const std::vector<int64_t>& axes = n.attrs.ints("axes");
    a.vector = (n.op == ir::Op::Sum || n.op == ir::Op::Mean) && axes.size() == 1 && axes[0] == 0 &&
               local_row(n.inputs[0]);
    return a;
  }

  /** The element (i, j) of a product's partial sums, or element `flat` of a reduction's. */
  std::string acc_at(size_t gi, const Index& idx) const {
    const Accumulator& a = acc_[gi];
    const std::string name = acc_name(gi), p = std::to_string(a.pitch);
    switch (a.layout) {
    case Accumulator::Layout::Rows:
      return name + "[" + idx[0] + "*" + p + " + " + idx[1] + "]";
    case Accumulator::Layout::Cols:
      return name + "[" + idx[1] + "*" + p + " + " + idx[0] + "]";
    case Accumulator::Layout::Flat:
      break;
    }
    return name + "[" + c_offset(sc_.groups[gi].domain, idx) + "]";
  }

  /**
   * Opens static loops over `dims` (a block when there are none). The innermost runs over lanes
   * when `lanes` (vectorized, not unrolled: unrolled first, LLVM would turn the lanes into
   * scalars). Every other loop stays scalar so that nothing vectorizes across it, and rolled
   * unless `unrolled` (each copy of a loop nest is compile time; a product's depth loop is worth
   * unrolling, its body is a load and a broadcast FMA).
   */
  Index loops(const std::vector<int64_t>& dims, const std::string& stem, bool lanes,
              bool unrolled = false) {
    Index idx;
    for (size_t d = 0; d < dims.size(); ++d) {
      const std::string v = e_.fresh(stem);
      w_.line(lanes && d + 1 == dims.size() ? "KILN_LANES"
              : unrolled                    ? "KILN_ROW_LOOP"
                                            : "KILN_ROWS");
      w_.open("for (long long " + v + " = 0; " + v + " < " + std::to_string(dims[d]) + "; ++" + v +
              ")");
      idx.push_back(v);
    }
    if (dims.empty())
      w_.open("");
    return idx;
  }
  void close(size_t n) {
    for (size_t i = 0; i < std::max<size_t>(n, 1); ++i)
      w_.close();
  }
  std::string open_rows() {
    const std::string r = e_.fresh("r");
    w_.line("KILN_ROWS");
    w_.open("for (long long " + r + " = 0; " + r + " < kiln_rows; ++" + r + ")");
    return r;
  }
  std::string named(NodeId n, const std::string& expr) {
    const std::string name = e_.fresh("t" + std::to_string(n));
    w_.line("const " + c_type_of(g_.node(n).type.dtype) + " " + name + " = " + expr + ";");
    return name;
  }
  /** Vector accumulators "acc_0 ... acc_<n-1>", declared at zero. */
  std::vector<std::string> vectors(const std::string& stem, int64_t count, ir::DType dt) {
    std::vector<std::string> v;
    std::string line = vector_type(dt);
    for (int64_t c = 0; c < count; ++c) {
      v.push_back(e_.fresh(stem));
      line += std::string(c ? ", " : " ") + v.back() + " = {}";
    }
    w_.line(line + ";");
    return v;
  }

  /** Whether Row product of group gi reads a padded copy of its weights (kiln_bt<gi>). */
  bool copied(size_t gi) const { return (broadcast_form(gi) && !direct(gi)) || thin_form(gi); }
  /**
   * Whether Row product gi (2 to 4 columns of W^T, its A row one padded vector) runs as one
   * vector product per column summed together (codegen/cpu/thin_dots.h), its weight rows
   * padded in kiln_bt<gi> as [cols][lanes].
   */
  bool thin_form(size_t gi) const {
    const Group& grp = sc_.groups[gi];
    if (plan_.phase[gi] != Phase::Row || grp.kind != Group::Kind::MatMul)
      return false;
    const Product p = product(g_, grp.roots[0]);
    const ir::DType dt = g_.node(grp.roots[0]).type.dtype;
    return p.tb && !p.ta && p.cols >= 2 && p.cols <= 4 && p.depth <= lanes(dt) && local_row(p.a) &&
           pitch_of(static_cast<size_t>(sc_.slot_of[p.a])) == lanes(dt);
  }
  /** Whether Row product gi runs as broadcast FMAs into row vectors (else dot products). */
  bool broadcast_form(size_t gi) const {
    const Group& grp = sc_.groups[gi];
    return plan_.phase[gi] == Phase::Row && grp.kind == Group::Kind::MatMul &&
           product(g_, grp.roots[0]).cols >= kThinCols;
  }
  /** Whether its B is read in place: [depth, cols] in a buffer, cols whole vectors. */
  bool direct(size_t gi) const {
    const Product p = product(g_, sc_.groups[gi].roots[0]);
    const int s = sc_.slot_of[p.b];
    return !p.tb && s >= 0 && g_.node(p.b).op != ir::Op::Constant &&
           p.cols % lanes(g_.node(p.b).type.dtype) == 0;
  }

  /** The padded copy of a Row product's B as [depth, cols padded], zero past cols. */
  void copy_weights(size_t gi) {
    const NodeId m = sc_.groups[gi].roots[0];
    const Product p = product(g_, m);
    const ir::DType dt = g_.node(m).type.dtype;
    const int64_t cp = padded(p.cols, dt);
    const std::string bt = bt_name(gi), zero = c_literal(0, dt);
    const int s = sc_.slot_of[p.b];
    const bool in_buffer = s >= 0 && g_.node(p.b).op != ir::Op::Constant && plan_.per_batch;
    if (thin_form(gi) && in_buffer) {
      w_.line("// weight rows of %" + std::to_string(m) + " as [" + std::to_string(p.cols) + ", " +
              std::to_string(lanes(dt)) + "], zero-padded, a vector each");
      emit_padded_rows(w_, dt, ExprEmitter::slot_name(s), p.cols, p.depth, bt, lanes(dt));
      return;
    }
    if (thin_form(gi)) {
      w_.line("// weight rows of %" + std::to_string(m) + " as [" + std::to_string(p.cols) + ", " +
              std::to_string(lanes(dt)) + "], zero-padded");
      const Index q = loops({p.cols * lanes(dt)}, "q", true);
      w_.line(bt + "[" + q[0] + "] = " + zero + ";");
      close(1);
      const Index j = loops({p.cols}, "j", false), k = loops({p.depth}, "k", true);
      e_.push_scope();
      w_.line(bt + "[" + j[0] + "*" + std::to_string(lanes(dt)) + " + " + k[0] +
              "] = " + e_.value(p.b, {j[0], k[0]}) + ";");
      e_.pop_scope();
      close(2);
      return;
    }
    w_.line("// weights of %" + std::to_string(m) + " as [" + std::to_string(p.depth) + ", " +
            std::to_string(cp) + "], zero-padded");
    if (p.tb && in_buffer) {
      // W^T of a layer's weights W, read straight from its buffer: a step copies it on every
      // call of a few rows, so it goes through registers. Evaluation and prediction run over
      // data sets and copy once per call; there the loops below do (the shuffle network took a
      // fifth of the compile time of W1's prediction kernel, 10 of 51 ms).
      emit_transpose(w_, dt, ExprEmitter::slot_name(s), p.cols, p.depth, bt, cp);
      return;
    }
    if (in_buffer) {
      w_.line("// a vector each");
      emit_padded_rows(w_, dt, ExprEmitter::slot_name(s), p.depth, p.cols, bt, cp);
      return;
    }
    const Index q = loops({p.depth * cp}, "q", true);
    w_.line(bt + "[" + q[0] + "] = " + zero + ";");
    close(1);
    // Rows of B^T are read in order (a gather is dearer than these scalar stores).
    const Index outer = loops({p.tb ? p.cols : p.depth}, p.tb ? "j" : "k", false);
    const Index inner = loops({p.tb ? p.depth : p.cols}, p.tb ? "k" : "j", !p.tb);
    e_.push_scope();
    const std::string k = p.tb ? inner[0] : outer[0], j = p.tb ? outer[0] : inner[0];
    w_.line(bt + "[" + k + "*" + std::to_string(cp) + " + " + j +
            "] = " + e_.value(p.b, p.tb ? Index{j, k} : Index{k, j}) + ";");
    e_.pop_scope();
    close(2);
  }

  void row_pointwise(const Group& grp) {
    const std::string r = open_rows();
    e_.push_scope();
    Index idx = loops(row_dims(grp.domain), "i", true);
    idx.insert(idx.begin(), r);
    e_.push_scope();
    ge_.roots_at(grp, 0, idx);
    e_.pop_scope();
    close(idx.size() - 1);
    e_.pop_scope();
    close(1);
  }

  void row_reduce(const Group& grp) {
    const NodeId root = grp.roots[0];
    const Node& n = g_.node(root);
    const NodeId x = n.inputs[0];
    const ir::Shape& in = g_.node(x).type.shape;
    const std::vector<int64_t>& axes = n.attrs.ints("axes");
    std::vector<int64_t> rdims;
    for (int64_t a : axes)
      rdims.push_back(in[static_cast<int>(a)]);
    const std::string r = open_rows();
    e_.push_scope();
    Index out = loops(row_dims(grp.domain), "i", false);
    out.insert(out.begin(), r);
    e_.push_scope();
    if (g_.node(x).op == ir::Op::Constant) {
      const std::string c = c_literal(g_.node(x).attrs.f("value"), n.type.dtype);
      ge_.finish_root(grp, root, out, named(root, reduce_of_splat(n, c, c_numel(rdims))));
    } else {
      const std::string acc = e_.fresh("acc");
      w_.line(c_type_of(n.type.dtype) + " " + acc + " = " + reduce_identity(n) + ";");
      const Index red = loops(rdims, "k", true);
      w_.line("KILN_REASSOCIATE");
      e_.push_scope();
      Index at;
      for (int d = 0, o = 0, k = 0; d < in.rank(); ++d) {
        const bool reduced = k < static_cast<int>(axes.size()) && axes[static_cast<size_t>(k)] == d;
        at.push_back(reduced ? red[static_cast<size_t>(k++)] : out[static_cast<size_t>(o++)]);
      }
      w_.line(reduce_combine(n, acc, e_.value(x, at)));
      e_.pop_scope();
      close(red.size());
      ge_.finish_root(grp, root, out, named(root, reduce_finalize(n, acc, c_numel(rdims))));
    }
    e_.pop_scope();
    close(out.size() - 1);
    e_.pop_scope();
    close(1);
  }

  void row_matmul(size_t gi) {
    const Group& grp = sc_.groups[gi];
    const NodeId m = grp.roots[0];
    const Product p = product(g_, m);
    const ir::DType dt = g_.node(m).type.dtype;
    const std::string t = c_type_of(dt), zero = c_literal(0, dt);
    if (broadcast_form(gi))
      return tiled_matmul(gi);
    if (thin_form(gi))
      return thin_matmul(gi, grp, p, dt);
    const std::string r = open_rows();
    e_.push_scope();
    {
      // A thin output (a column or a few): a dot product over the depth per column.
      const Index j = loops({p.cols}, "j", false);
      e_.push_scope();
      const std::string s = e_.fresh("s");
      w_.line(t + " " + s + " = " + zero + ";");
      const Index k = loops({p.depth}, "k", true);
      w_.line("KILN_REASSOCIATE");
      e_.push_scope();
      w_.line(s + " += " + e_.value(p.a, {r, k[0]}) + " * " +
              e_.value(p.b, p.tb ? Index{j[0], k[0]} : Index{k[0], j[0]}) + ";");
      e_.pop_scope();
      close(1);
      ge_.finish_root(grp, m, {r, j[0]}, s);
      e_.pop_scope();
      close(1);
    }
    e_.pop_scope();
    close(1);
  }

  /** A thin Row product (thin_form): per row, a product per column, summed together. */
  void thin_matmul(size_t gi, const Group& grp, const Product& p, ir::DType dt) {
    const std::string vt = vector_type(dt);
    std::vector<std::string> rows;
    for (int64_t j = 0; j < p.cols; ++j) {
      rows.push_back(e_.fresh("wr"));
      w_.line("const " + vt + " " + rows.back() + " = " +
              load(dt, bt_name(gi) + " + " + std::to_string(j * lanes(dt))) + ";");
    }
    const std::string r = open_rows();
    e_.push_scope();
    const std::string a = e_.fresh("ar");
    w_.line("const " + vt + " " + a + " = " + row_vector(p.a, r, 0) + ";");
    std::vector<std::string> products;
    for (const std::string& row : rows)
      products.push_back(a + " * " + row);
    const std::string sums = e_.fresh("dots");
    const std::vector<int64_t> at = emit_summed_together(w_, dt, products, sums);
    for (int64_t j = 0; j < p.cols; ++j)
      ge_.finish_root(grp, grp.roots[0], {r, std::to_string(j)},
                      sums + "[" + std::to_string(at[static_cast<size_t>(j)]) + "]");
    e_.pop_scope();
    close(1);
  }

  /**
   * A Row product as broadcast FMAs: a tile of T rows at a time, each row's product in vector
   * registers (T x vectors accumulators, each step of depth loading B's vectors once for all T
   * rows: T independent chains hide the FMA latency); then each row's epilogue over its lanes.
   * A short last tile repeats its last row (reads stay in bounds) and finishes only its own.
   */
  void tiled_matmul(size_t gi) {
    const Group& grp = sc_.groups[gi];
    const NodeId m = grp.roots[0];
    const Product p = product(g_, m);
    const ir::DType dt = g_.node(m).type.dtype;
    const std::string t = c_type_of(dt);
    const int64_t cp = padded(p.cols, dt), nv = cp / lanes(dt);
    const int64_t tile =
        std::max<int64_t>(1, std::min({plan_.rows, kTileRegisters / nv, kMaxTile}));
    const bool in_place = direct(gi);
    const std::string b = in_place ? ExprEmitter::slot_name(sc_.slot_of[p.b]) : bt_name(gi);
    const std::string pitch = std::to_string(in_place ? p.cols : cp);
    const std::string r0 = e_.fresh("r");
    w_.line("KILN_ROWS");
    w_.open("for (long long " + r0 + " = 0; " + r0 + " < kiln_rows; " + r0 +
            " += " + std::to_string(tile) + ")");
    e_.push_scope();
    std::vector<std::string> row(static_cast<size_t>(tile));
    for (int64_t i = 0; i < tile; ++i) {
      row[static_cast<size_t>(i)] = e_.fresh("ri");
      w_.line("const long long " + row[static_cast<size_t>(i)] + " = " +
              (i == 0 ? r0
                      : r0 + " + " + std::to_string(i) + " < kiln_rows ? " + r0 + " + " +
                            std::to_string(i) + " : kiln_rows - 1") +
              ";");
    }
    std::vector<std::vector<std::string>> acc;
    for (int64_t i = 0; i < tile; ++i)
      acc.push_back(vectors("acc", nv, dt));
    const Index k = loops({p.depth}, "k", false);
    e_.push_scope();
    std::vector<std::string> bv;
    for (int64_t c = 0; c < nv; ++c) {
      bv.push_back(e_.fresh("bv"));
      w_.line("const " + vector_type(dt) + " " + bv.back() + " = " +
              load(dt, b + " + " + k[0] + "*" + pitch +
                           (c ? " + " + std::to_string(c * lanes(dt)) : "")) +
              ";");
    }
    for (int64_t i = 0; i < tile; ++i) {
      const std::string av = e_.fresh("a");
      w_.line("const " + t + " " + av + " = " + e_.value(p.a, {row[static_cast<size_t>(i)], k[0]}) +
              ";");
      for (int64_t c = 0; c < nv; ++c)
        w_.line(acc[static_cast<size_t>(i)][static_cast<size_t>(c)] + " += " + av + " * " +
                bv[static_cast<size_t>(c)] + ";");
    }
    e_.pop_scope();
    close(1);
    const std::string out = e_.fresh("tile");
    w_.line(t + " " + out + "[" + std::to_string(tile * cp) + "] __attribute__((aligned(64)));");
    for (int64_t i = 0; i < tile; ++i)
      for (int64_t c = 0; c < nv; ++c)
        w_.line(store(dt, out + " + " + std::to_string(i * cp + c * lanes(dt)),
                      acc[static_cast<size_t>(i)][static_cast<size_t>(c)]));
    const std::string ti = e_.fresh("t");
    w_.line("KILN_ROWS");
    w_.open("for (long long " + ti + " = 0; " + ti + " < " + std::to_string(tile) + " && " + r0 +
            " + " + ti + " < kiln_rows; ++" + ti + ")");
    e_.push_scope();
    const std::string r = e_.fresh("r");
    w_.line("const long long " + r + " = " + r0 + " + " + ti + ";");
    const Index j = loops({p.cols}, "j", true);
    e_.push_scope();
    ge_.finish_root(grp, m, {r, j[0]},
                    out + "[" + ti + "*" + std::to_string(cp) + " + " + j[0] + "]");
    e_.pop_scope();
    close(1);
    e_.pop_scope();
    w_.close();
    e_.pop_scope();
    w_.close();
  }

  /** A Reduce group's partial sums over the block's rows, into kiln_acc<gi>. */
  void partial(size_t gi) {
    const Group& grp = sc_.groups[gi];
    const NodeId root = grp.roots[0];
    const Node& n = g_.node(root);
    const Accumulator& a = acc_[gi];
    w_.line("// partial sums of %" + std::to_string(root) + " " + std::string(ir::op_name(n.op)) +
            " over the block's rows");
    if (a.vector) {
      vector_partial(gi);
      return;
    }
    const std::string acc = acc_name(gi);
    const ir::Shape& in = g_.node(n.inputs[0]).type.shape;
    if (grp.kind == Group::Kind::Reduce && n.attrs.ints("axes") == std::vector<int64_t>{0} &&
        in.rank() == 2 && in[1] <= kThinCols) {
      // A few columns summed over rows: a register per column (in memory, rows wait on stores).
      std::vector<std::string> s;
      for (int64_t c = 0; c < in[1]; ++c) {
        s.push_back(e_.fresh("s"));
        w_.line(c_type_of(n.type.dtype) + " " + s.back() + " = " + acc + "[" + std::to_string(c) +
                "];");
      }
      const std::string r = open_rows();
      e_.push_scope();
      for (int64_t c = 0; c < in[1]; ++c)
        w_.line(reduce_combine(n, s[static_cast<size_t>(c)],
                               e_.value(n.inputs[0], {r, std::to_string(c)})));
      e_.pop_scope();
      w_.close();
      for (int64_t c = 0; c < in[1]; ++c)
        w_.line(acc + "[" + std::to_string(c) + "] = " + s[static_cast<size_t>(c)] + ";");
      return;
    }
    const std::string r = open_rows();
    e_.push_scope();
    if (grp.kind == Group::Kind::MatMul) {
      // A^T B: row r adds A[r, m] B[r, k] to element (m, k).
      const Product p = product(g_, root);
      const Index mm = loops({p.rows}, "m", false);
      e_.push_scope();
      const std::string av = e_.fresh("a");
      w_.line("const " + c_type_of(n.type.dtype) + " " + av + " = " + e_.value(p.a, {r, mm[0]}) +
              ";");
      const Index k = loops({p.cols}, "k", true);
      e_.push_scope();
      w_.line(acc_at(gi, {mm[0], k[0]}) + " += " + av + " * " + e_.value(p.b, {r, k[0]}) + ";");
      e_.pop_scope();
      close(1);
      e_.pop_scope();
      close(1);
    } else {
      const NodeId x = n.inputs[0];
      const ir::Shape& in = g_.node(x).type.shape;
      const std::vector<int64_t>& axes = n.attrs.ints("axes");
      const std::vector<int64_t> rest = row_dims(in);
      const bool inner_reduced =
          !rest.empty() && std::find(axes.begin(), axes.end(), in.rank() - 1) != axes.end();
      const Index idx = loops(rest, "i", true);
      if (inner_reduced)
        w_.line("KILN_REASSOCIATE");
      e_.push_scope();
      Index at{r}, kept;
      at.insert(at.end(), idx.begin(), idx.end());
      for (int d = 1; d < in.rank(); ++d)
        if (std::find(axes.begin(), axes.end(), d) == axes.end())
          kept.push_back(idx[static_cast<size_t>(d - 1)]);
      w_.line(reduce_combine(n, acc_at(gi, kept), e_.value(x, at)));
      e_.pop_scope();
      close(idx.size());
    }
    e_.pop_scope();
    close(1);
  }

  /**
   * Partial sums on vectors held in registers across the block's rows: a weight gradient's
   * row (or column) per vector, a bias gradient's row; the row arrays are read whole (padding
   * included: it only reaches the padding of the sums).
   */
  void vector_partial(size_t gi) {
    const Group& grp = sc_.groups[gi];
    const NodeId root = grp.roots[0];
    const ir::DType dt = g_.node(root).type.dtype;
    const Accumulator& a = acc_[gi];
    const std::string acc = acc_name(gi), t = c_type_of(dt);
    const int64_t nv = a.pitch ? a.pitch / lanes(dt) : a.size / lanes(dt);
    auto at = [&](const std::string& line, int64_t c) {
      return acc + " + " + line + (c ? " + " + std::to_string(c * lanes(dt)) : "");
    };
    if (grp.kind == Group::Kind::Reduce) {
      w_.open("");
      std::vector<std::string> v;
      for (int64_t c = 0; c < nv; ++c) {
        v.push_back(e_.fresh("g"));
        w_.line(vector_type(dt) + " " + v.back() + " = kiln_r0 ? " + load(dt, at("0", c)) + " : " +
                vector_type(dt) + "{};");
      }
      const std::string r = open_rows();
      for (int64_t c = 0; c < nv; ++c)
        w_.line(v[static_cast<size_t>(c)] + " += " + row_vector(g_.node(root).inputs[0], r, c) +
                ";");
      w_.close();
      for (int64_t c = 0; c < nv; ++c)
        w_.line(store(dt, at("0", c), v[static_cast<size_t>(c)]));
      w_.close();
      return;
    }
    // A^T B: for every line (a row of A^T for Rows, a column of B for Cols), the line's
    // vectors stay in registers while the rows add the scalar times the other operand's row.
    const Product p = product(g_, root);
    const bool rows = a.layout == Accumulator::Layout::Rows;
    const NodeId scalar = rows ? p.a : p.b, vec = rows ? p.b : p.a;
    const Index line = loops({rows ? p.rows : p.cols}, rows ? "m" : "k", false);
    e_.push_scope();
    const std::string off = line[0] + "*" + std::to_string(a.pitch);
    std::vector<std::string> v;
    for (int64_t c = 0; c < nv; ++c) {
      v.push_back(e_.fresh("g"));
      w_.line(vector_type(dt) + " " + v.back() + " = kiln_r0 ? " + load(dt, at(off, c)) + " : " +
              vector_type(dt) + "{};");
    }
    const std::string r = open_rows();
    e_.push_scope();
    const std::string s = e_.fresh("s");
    w_.line("const " + t + " " + s + " = " + e_.value(scalar, {r, line[0]}) + ";");
    for (int64_t c = 0; c < nv; ++c)
      w_.line(v[static_cast<size_t>(c)] + " += " + s + " * " + row_vector(vec, r, c) + ";");
    e_.pop_scope();
    w_.close();
    for (int64_t c = 0; c < nv; ++c)
      w_.line(store(dt, at(off, c), v[static_cast<size_t>(c)]));
    e_.pop_scope();
    close(1);
  }

  /**
   * Group gi's partial sums copied to row-major order for its flat result (flat_result) where
   * the accumulator is not already (sums_copied): without its rows' padding (Rows) or transposed
   * back (Cols). Every copy is made before any result is computed: a result's whole-vector loads
   * right after the copy's narrower stores would wait for those to reach the cache (a load is
   * forwarded from one store, not from several): W2's step, dumped and called in a loop, 0.537 ->
   * 0.510 us.
   */
  void row_major_sums(size_t gi) {
    if (!sums_copied(gi))
      return;
    const Accumulator& a = acc_[gi];
    const ir::Shape& d = sc_.groups[gi].domain;
    const bool rows = a.layout == Accumulator::Layout::Rows;
    const std::string sums = sums_name(gi);
    w_.line(c_type_of(g_.node(sc_.groups[gi].roots[0]).type.dtype) + " " + sums + "[" +
            std::to_string(d.static_numel()) + "] __attribute__((aligned(64)));");
    const Index i = loops({d[0]}, "i", false);
    const Index j = loops({d[1]}, "j", rows);
    w_.line(sums + "[" + i[0] + "*" + std::to_string(d[1]) + " + " + j[0] +
            "] = " + acc_at(gi, {i[0], j[0]}) + ";");
    close(2);
  }
  /** Whether flat result gi reads a copy of its partial sums (else the accumulator itself). */
  bool sums_copied(size_t gi) const {
    const Accumulator& a = acc_[gi];
    return !(a.layout == Accumulator::Layout::Flat ||
             (a.layout == Accumulator::Layout::Rows && a.pitch == sc_.groups[gi].domain[1]));
  }

  /** After the rows: a Reduce group's result from its partial sums, then its epilogue. */
  void result(size_t gi) {
    const Group& grp = sc_.groups[gi];
    const NodeId root = grp.roots[0];
    const Node& n = g_.node(root);
    w_.line(ge_.title(grp) + " (from its partial sums)");
    const bool flat = flat_result(sc_, grp);
    Index inner, idx;
    std::string v;
    if (flat) {
      inner = loops({grp.domain.static_numel()}, "i", true);
      idx = {"0", inner[0]};
      v = (sums_copied(gi) ? sums_name(gi) : acc_name(gi)) + "[" + inner[0] + "]";
    } else {
      // Dims of 1 get no loop: a [14, 1] update is one loop over 14 lanes, not 14 scalar ones.
      std::vector<int64_t> looped;
      for (int64_t d : grp.domain.dims())
        if (d != 1)
          looped.push_back(d);
      inner = loops(looped, "i", true);
      for (size_t d = 0, k = 0; d < grp.domain.dims().size(); ++d)
        idx.push_back(grp.domain.dims()[d] == 1 ? "0" : inner[k++]);
      v = acc_at(gi, idx);
    }
    e_.push_scope();
    if (grp.kind == Group::Kind::Reduce) {
      const ir::Shape& in = g_.node(n.inputs[0]).type.shape;
      std::vector<int64_t> rdims;
      for (int64_t a : n.attrs.ints("axes"))
        rdims.push_back(in[static_cast<int>(a)]);
      v = reduce_finalize(n, v, c_numel(rdims));
    }
    ge_.finish_root(grp, root, idx, named(root, v));
    e_.pop_scope();
    close(inner.size());
  }

  /** Declarations of the partial sums and the weight copies, the sums at their identity. */
  void setup() {
    w_.line("// the row blocks' partial sums and padded weights");
    for (size_t gi = 0; gi < sc_.groups.size(); ++gi) {
      const Node& n = g_.node(sc_.groups[gi].roots[0]);
      const std::string t = c_type_of(n.type.dtype);
      if (copied(gi)) {
        const Product p = product(g_, sc_.groups[gi].roots[0]);
        const int64_t size =
            thin_form(gi) ? p.cols * lanes(n.type.dtype) : p.depth * padded(p.cols, n.type.dtype);
        w_.line(t + " " + bt_name(gi) + "[" + std::to_string(size) +
                "] __attribute__((aligned(64)));");
      }
      if (plan_.phase[gi] != Phase::Reduce)
        continue;
      const int64_t size = acc_[gi].size;
      w_.line(t + " " + acc_name(gi) + "[" + std::to_string(size) +
              "] __attribute__((aligned(64)));");
      // Vector partial sums start from zero in the first block (no pass over them here), so
      // only a step over no rows at all needs them zeroed.
      if (acc_[gi].vector)
        w_.open("if (N == 0)");
      const Index q = loops({size}, "q", true);
      w_.line(acc_name(gi) + "[" + q[0] + "] = " +
              (sc_.groups[gi].kind == Group::Kind::MatMul ? c_literal(0, n.type.dtype)
                                                          : reduce_identity(n)) +
              ";");
      close(1);
      if (acc_[gi].vector)
        w_.close();
    }
  }

  GroupEmitter& ge_;
  CodeWriter& w_;
  ExprEmitter& e_;
  const Schedule& sc_;
  const ir::Graph& g_;
  const RowBlockPlan& plan_;
  std::vector<Accumulator> acc_;
};

} // namespace

RowBlockCode render_row_block(GroupEmitter& ge, const RowBlockPlan& plan, int max_units,
                              const std::function<void(const Group&)>& usual,
                              const std::function<std::string(const std::string&)>& buffer_type) {
  const Schedule& sc = ge.schedule();
  Renderer rb(ge, plan);
  CodeWriter& w = ge.w();

  // Inside the block function: every Row group and every Reduce group's partial sums, in order.
  size_t mark = w.str().size();
  std::vector<std::string> rows;
  for (size_t gi = 0; gi < sc.groups.size(); ++gi) {
    const Group& grp = sc.groups[gi];
    if (plan.phase[gi] == Phase::Reduce) {
      rb.partial(gi);
      cut(w, &mark, rows);
    }
    if (plan.phase[gi] != Phase::Row)
      continue;
    w.line(ge.title(grp));
    switch (grp.kind) {
    case Group::Kind::Pointwise:
      rb.row_pointwise(grp);
      break;
    case Group::Kind::Reduce:
      rb.row_reduce(grp);
      break;
    case Group::Kind::MatMul:
      rb.row_matmul(gi);
      break;
    case Group::Kind::Window: // plan_row_block gives windows no Row phase
      throw InternalError("[row_block] a window group in the row phase: " + ge.title(grp));
    }
    cut(w, &mark, rows);
  }
  const SharedGroups row_shared = share_repeated_groups(rows, buffer_type);

  // The step: Pre groups, the setup, the weight copies, the loop, results and Post groups.
  std::vector<std::string> step;
  for (size_t gi = 0; gi < sc.groups.size(); ++gi)
    if (plan.phase[gi] == Phase::Pre) {
      usual(sc.groups[gi]);
      cut(w, &mark, step);
    }
  rb.setup();
  const std::string setup = w.str().substr(mark);
  mark = w.str().size();
  std::vector<std::string> copies;
  for (size_t gi = 0; gi < sc.groups.size(); ++gi)
    if (rb.copied(gi)) {
      rb.copy_weights(gi);
      cut(w, &mark, copies);
    }
  // Not shared with repeated groups: the copies declare the arrays that the results read.
  for (size_t gi = 0; gi < sc.groups.size(); ++gi)
    if (plan.phase[gi] == Phase::Reduce && flat_result(sc, sc.groups[gi]))
      rb.row_major_sums(gi);
  const std::string sums = w.str().substr(mark);
  mark = w.str().size();
  std::vector<std::string> after;
  for (size_t gi = 0; gi < sc.groups.size(); ++gi) {
    if (plan.phase[gi] == Phase::Reduce)
      rb.result(gi);
    else if (plan.phase[gi] == Phase::Post)
      usual(sc.groups[gi]);
    else
      continue;
    cut(w, &mark, after);
  }
  const SharedGroups copy_shared = share_repeated_groups(copies, buffer_type);
  // Split in two units, the Pre groups that nothing before the results reads run with the
  // results (an optimizer's bias corrections, each a kiln_pow): the loop's unit is the longer.
  if (max_units > 1) {
    const std::vector<std::string> deferred =
        deferrable_pre(step, row_shared.body + copy_shared.body);
    after.insert(after.begin(), deferred.begin(), deferred.end());
  }
  const SharedGroups step_shared = share_repeated_groups(step, buffer_type);
  const SharedGroups after_shared = share_repeated_groups(after, buffer_type);
  // What runs before and after the loop gets a unit when it is worth one (split_units.h).
  const bool split =
      max_units > 1 && compile_cost(step_shared.body + copy_shared.body + sums + after_shared.body +
                                    step_shared.functions + copy_shared.functions +
                                    after_shared.functions) >= kMinUnitCost;
  RowBlockCode out;
  out.shared.functions = kVectors;
  merge_functions(row_shared, out.shared);
  SharedGroups second;
  second.functions = kVectors;
  for (const SharedGroups* s : {&step_shared, &copy_shared, &after_shared})
    merge_functions(*s, split ? second : out.shared);
  RowStepText t{.setup = setup,
                .pre = step_shared.body,
                .copies = copy_shared.body,
                .rows = plan.rows,
                .block = row_shared.body,
                .results = sums + after_shared.body,
                .block_function = split && plan.per_batch};
  // Padded rows, at zero once per call (of the block function, if any): whole vectors of them
  // are read (the padding reaches only the padding of partial sums) and it is never written.
  for (const std::string& id : identifiers(t.block, is_slot))
    if (const size_t s = std::stoul(id.substr(1)); plan.local[s])
      t.locals += c_type_of(sc.slots[s].type.dtype) + " " + id + "[" +
                  std::to_string(plan.rows * rb.pitch_of(s)) +
                  "] __attribute__((aligned(64))) = {};\n";
  const RowStep assembled = assemble_row_step(t, split, [&](const std::string& id) {
    return is_slot(id) && plan.local[std::stoul(id.substr(1))] ? std::string() : buffer_type(id);
  });
  out.shared.functions += assembled.functions;
  out.shared.body = assembled.call;
  out.shared.blocks = {assembled.call};
  out.shared.calls = {""};
  out.second_unit = split ? second.functions + assembled.second_unit : "";
  return out;
}

} // namespace kiln::codegen
