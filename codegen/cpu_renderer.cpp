#include "codegen/cpu_renderer.h"

#include <cmath>

#include "codegen/c_like.h"
#include "ir/error.h"
#include "ir/hash.h"

namespace kiln::codegen {

using ir::Node;
using ir::NodeId;
using ir::Op;

namespace {

constexpr const char* kLoopMacros = R"KILN(#ifdef __clang__
#define KILN_VECTORIZE _Pragma("clang loop vectorize(enable) interleave(enable)")
#define KILN_REASSOCIATE _Pragma("clang fp reassociate(on)")
#else
#define KILN_VECTORIZE _Pragma("GCC ivdep")
#define KILN_REASSOCIATE
#endif
static inline long long kiln_align64(long long bytes) { return (bytes + 63) & ~63LL; }
)KILN";

class CpuEmitter {
public:
  explicit CpuEmitter(const Schedule& sc) : sc_(sc), g_(sc.graph), e_(sc, w_) {}

  std::string body() {
    for (const Group& grp : sc_.groups) {
      w_.line("// " + group_title(grp));
      switch (grp.kind) {
      case Group::Kind::Pointwise: pointwise(grp); break;
      case Group::Kind::Reduce: reduce(grp); break;
      case Group::Kind::MatMul: matmul(grp); break;
      }
    }
    for (const auto& [slot, node] : sc_.output_copies) copy(slot, node);
    return w_.str();
  }

private:
  std::string group_title(const Group& grp) const {
    std::string s = str(grp.domain, ":");
    for (NodeId r : grp.roots) s += str(" ", ir::op_name(g_.node(r).op), " %", r, sc_.stored[r] ? "*" : "");
    return s;
  }

  /** Opens one loop per dim of `dims` and returns the index; the innermost gets `pragma`. */
  Index open_loops(const std::vector<int64_t>& dims, const std::string& stem, const char* pragma) {
    Index idx;
    for (size_t d = 0; d < dims.size(); ++d) {
      const std::string v = e_.fresh(stem);
      if (d + 1 == dims.size() && pragma) w_.line(pragma);
      w_.open("for (long long " + v + " = 0; " + v + " < " + c_dim(dims[d]) + "; ++" + v + ")");
      idx.push_back(v);
    }
    if (dims.empty()) w_.open("");
    return idx;
  }
  void close_loops(size_t n) {
    for (size_t i = 0; i < std::max<size_t>(n, 1); ++i) w_.close();
  }

  void store(NodeId n, const Index& idx, const std::string& v) {
    if (!sc_.stored[n]) return;
    w_.line(ExprEmitter::slot_name(sc_.slot_of[n]) + "[" + c_offset(g_.node(n).type.shape, idx) + "] = " + v + ";");
  }

  /** Computes and stores the group's roots from `first` on, at `idx`. */
  void roots_at(const Group& grp, size_t first, const Index& idx) {
    for (size_t r = first; r < grp.roots.size(); ++r) store(grp.roots[r], idx, e_.compute(grp.roots[r], idx));
  }

  void pointwise(const Group& grp) {
    const Index idx = open_loops(grp.domain.dims(), "i", "KILN_VECTORIZE");
    e_.push_scope();
    roots_at(grp, 0, idx);
    e_.pop_scope();
    close_loops(idx.size());
  }

  void reduce(const Group& grp) {
    const NodeId r = grp.roots[0];
    const Node& n = g_.node(r);
    const NodeId x = n.inputs[0];
    const ir::Shape& in = g_.node(x).type.shape;
    const std::vector<int64_t>& axes = n.attrs.ints("axes");
    const std::string t = c_type_of(n.type.dtype);
    const Index out = open_loops(grp.domain.dims(), "i", nullptr);
    e_.push_scope();
    const std::string acc = e_.fresh("acc");
    w_.line(t + " " + acc + " = " + (n.op == Op::Max ? c_literal(-INFINITY, n.type.dtype) : c_literal(0, n.type.dtype)) + ";");
    std::vector<int64_t> rdims;
    for (int64_t a : axes) rdims.push_back(in[static_cast<int>(a)]);
    const Index red = open_loops(rdims, "r", "KILN_VECTORIZE");
    w_.line("KILN_REASSOCIATE");
    e_.push_scope();
    Index at;
    for (int d = 0, o = 0, k = 0; d < in.rank(); ++d) {
      const bool reduced = k < static_cast<int>(axes.size()) && axes[static_cast<size_t>(k)] == d;
      at.push_back(reduced ? red[static_cast<size_t>(k++)] : out[static_cast<size_t>(o++)]);
    }
    const std::string v = e_.value(x, at);
    if (n.op == Op::Max)
      w_.line(acc + " = " + acc + " < " + v + " ? " + v + " : " + acc + ";");
    else
      w_.line(acc + " += " + v + ";");
    e_.pop_scope();
    close_loops(red.size());
    std::string result = acc;
    if (n.op == Op::Mean) result = acc + " / (" + t + ")(" + c_numel(rdims) + ")";
    const std::string name = e_.fresh("t" + std::to_string(r));
    w_.line("const " + t + " " + name + " = " + result + ";");
    e_.bind(r, out, name);
    store(r, out, name);
    roots_at(grp, 1, out);
    e_.pop_scope();
    close_loops(out.size());
  }

  void matmul(const Group& grp) {
    const NodeId m = grp.roots[0];
    const Node& n = g_.node(m);
    const NodeId a = n.inputs[0], b = n.inputs[1];
    const bool ta = n.attrs.i("ta") != 0, tb = n.attrs.i("tb") != 0;
    const int64_t rows = n.type.shape[0], cols = n.type.shape[1];
    const int64_t k = g_.node(a).type.shape[ta ? 0 : 1];
    const std::string t = c_type_of(n.type.dtype);
    auto A = [&](const std::string& i, const std::string& kk) { return e_.value(a, ta ? Index{kk, i} : Index{i, kk}); };
    auto B = [&](const std::string& kk, const std::string& j) { return e_.value(b, tb ? Index{j, kk} : Index{kk, j}); };

    const Index row = open_loops({rows}, "i", nullptr);
    if (cols != ir::kBatch) {
      // One row of the product at a time, accumulated in registers, then the epilogue.
      const std::string acc = e_.fresh("acc");
      w_.line(t + " " + acc + "[" + std::to_string(cols) + "];");
      Index j = open_loops({cols}, "j", "KILN_VECTORIZE");
      w_.line(acc + "[" + j[0] + "] = " + c_literal(0, n.type.dtype) + ";");
      close_loops(1);
      if (!tb) {
        const Index kk = open_loops({k}, "k", nullptr);
        e_.push_scope();
        const std::string av = e_.fresh("a");
        w_.line("const " + t + " " + av + " = " + A(row[0], kk[0]) + ";");
        j = open_loops({cols}, "j", "KILN_VECTORIZE");
        e_.push_scope();
        w_.line(acc + "[" + j[0] + "] += " + av + " * " + B(kk[0], j[0]) + ";");
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
      e_.bind(m, at, acc + "[" + j[0] + "]");
      store(m, at, acc + "[" + j[0] + "]");
      roots_at(grp, 1, at);
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
      e_.bind(m, at, s);
      store(m, at, s);
      roots_at(grp, 1, at);
      e_.pop_scope();
      close_loops(1);
    }
    close_loops(1);
  }

  void copy(int slot, NodeId node) {
    w_.line("// output " + sc_.slots[static_cast<size_t>(slot)].name + " = %" + std::to_string(node));
    const Index idx = open_loops(g_.node(node).type.shape.dims(), "i", "KILN_VECTORIZE");
    e_.push_scope();
    const std::string v = e_.value(node, idx);
    w_.line(ExprEmitter::slot_name(slot) + "[" + c_offset(g_.node(node).type.shape, idx) + "] = " + v + ";");
    e_.pop_scope();
    close_loops(idx.size());
  }

  const Schedule& sc_;
  const ir::Graph& g_;
  CodeWriter w_;
  ExprEmitter e_;
};

std::string signature_block(const Schedule& sc, std::vector<ScratchSize>& scratch) {
  CodeWriter w;
  w.line("(void)N;");
  w.line("char* kiln_ws = (char*)workspace;");
  w.line("(void)kiln_ws;");
  for (size_t s = 0; s < sc.slots.size(); ++s) {
    const Slot& slot = sc.slots[s];
    const std::string t = c_type_of(slot.type.dtype);
    const std::string name = ExprEmitter::slot_name(static_cast<int>(s));
    const bool readonly = slot.role == Slot::Role::Input || slot.role == Slot::Role::Param;
    const std::string decl = (readonly ? "const " : "") + t + "* __restrict " + name;
    if (slot.role != Slot::Role::Scratch) {
      w.line(decl + " = (" + (readonly ? "const " : "") + t + "*)slots[" + std::to_string(s) + "]; // " +
             slot.name + " " + slot.type.str());
      continue;
    }
    const int64_t elem = static_cast<int64_t>(slot.type.dtype == ir::DType::F64 || slot.type.dtype == ir::DType::I64 ? 8 : 4);
    const ir::Shape& shape = slot.type.shape;
    scratch.push_back({shape.has_batch() ? shape.static_numel() * elem : 0,
                       shape.has_batch() ? 0 : shape.static_numel() * elem});
    w.line(decl + " = (" + t + "*)kiln_ws; // " + slot.name + " " + slot.type.str());
    w.line("kiln_ws += kiln_align64((long long)sizeof(" + t + ") * " + c_numel(shape.dims()) + ");");
  }
  return w.str();
}

} // namespace

int64_t CpuKernel::workspace_bytes(int64_t N) const {
  int64_t total = 0;
  for (const ScratchSize& s : scratch) total += (s.per_batch * N + s.fixed + 63) & ~int64_t{63};
  return total;
}

CpuKernel render_cpu(const ir::Graph& g) {
  CpuKernel k;
  k.schedule = schedule(g);
  const std::string decls = signature_block(k.schedule, k.scratch);
  const std::string body = CpuEmitter(k.schedule).body();

  std::string comment = "// kiln CPU kernel. Groups (one loop nest each; * = stored):\n";
  for (size_t gi = 0; gi < k.schedule.groups.size(); ++gi) {
    std::string line = "//   " + std::to_string(gi) + ":";
    for (NodeId r : k.schedule.groups[gi].roots)
      line += str(" ", ir::op_name(g.node(r).op), k.schedule.stored[r] ? "*" : "");
    comment += line + "\n";
  }
  // The name comes from the content, so identical graphs share one cache entry and one symbol.
  k.name = "kiln_" + hash_hex128(decls + body).substr(0, 16);
  CodeWriter fn;
  fn.open("extern \"C\" void " + k.name + "(long long N, void* const* slots, void* workspace)");
  std::string out = comment + cpu_prelude() + kLoopMacros + "\n" + fn.str();
  for (size_t pos = 0, next; pos < decls.size(); pos = next + 1) {
    next = decls.find('\n', pos);
    out += "  " + decls.substr(pos, next - pos) + "\n";
  }
  for (size_t pos = 0, next; pos < body.size(); pos = next + 1) {
    next = body.find('\n', pos);
    out += "  " + body.substr(pos, next - pos) + "\n";
  }
  k.source = out + "}\n";
  return k;
}

} // namespace kiln::codegen
