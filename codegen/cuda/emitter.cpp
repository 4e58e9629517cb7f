#include "codegen/cuda/emitter.h"

#include <cmath>

#include "base/error.h"

namespace kiln::codegen::cuda {

using ir::Node;
using ir::NodeId;
using ir::Op;

Target cuda_target() {
  return Target{.const_qualifier = "const ", .index_type = "int"};
}

std::vector<std::pair<std::string, std::string>> step_params(const Schedule& sc) {
  std::vector<std::pair<std::string, std::string>> p{{"int", "N"}};
  for (size_t s = 0; s < sc.slots.size(); ++s) {
    const Slot& slot = sc.slots[s];
    const bool readonly =
        slot.role == Slot::Role::Input || (slot.role == Slot::Role::Param && !slot.written);
    p.emplace_back((readonly ? "const " : "") + c_type_of(slot.type.dtype) + "* __restrict__",
                   ExprEmitter::slot_name(static_cast<int>(s)));
  }
  p.emplace_back("char* __restrict__", "kiln_ws");
  return p;
}

std::string join_params(const std::vector<std::pair<std::string, std::string>>& params) {
  std::string s;
  for (const auto& [type, name] : params)
    s += (s.empty() ? "" : ", ") + type + " " + name;
  return s;
}

bool uses_slot(const std::string& body, int s) {
  return body.find(ExprEmitter::slot_name(s) + "[") != std::string::npos;
}

std::string block_loop(const std::string& var, const std::string& total) {
  return "for (int " + var + " = (int)threadIdx.x; " + var + " < " + total + "; " + var +
         " += (int)blockDim.x)";
}

std::string numel_expr(const std::vector<int64_t>& dims, const std::string& batch) {
  int64_t fixed = 1;
  std::string s;
  for (int64_t d : dims) {
    if (d == ir::kBatch)
      s += (s.empty() ? "" : "*") + batch;
    else
      fixed *= d;
  }
  if (s.empty())
    return std::to_string(fixed);
  return fixed == 1 ? s : "(" + s + "*" + std::to_string(fixed) + ")";
}

Index CudaEmitter::decompose(const std::vector<int64_t>& dims, const std::string& flat,
                             const std::string& batch) {
  Index idx(dims.size());
  if (dims.size() == 1)
    return {flat};
  for (size_t d = 0; d < dims.size(); ++d) {
    if (dims[d] == 1) {
      idx[d] = "0";
      continue;
    }
    const std::string stride = numel_expr(
        std::vector<int64_t>(dims.begin() + static_cast<long>(d) + 1, dims.end()), batch);
    const std::string q = stride == "1" ? flat : "(" + flat + " / " + stride + ")";
    idx[d] =
        d == 0 ? q
               : "(" + q + " % " + (dims[d] == ir::kBatch ? batch : std::to_string(dims[d])) + ")";
  }
  return idx;
}

std::string CudaEmitter::reduced_count(const Group& grp, const std::string& batch) const {
  const Node& n = g_.node(grp.roots[0]);
  const ir::Shape& in = g_.node(n.inputs[0]).type.shape;
  std::vector<int64_t> rdims;
  for (int64_t a : n.attrs.ints("axes"))
    rdims.push_back(in[static_cast<int>(a)]);
  return numel_expr(rdims, batch);
}

Index CudaEmitter::reduce_input_index(const Group& grp, const Index& out, const std::string& r,
                                      const std::string& batch) const {
  const Node& n = g_.node(grp.roots[0]);
  const ir::Shape& in = g_.node(n.inputs[0]).type.shape;
  const std::vector<int64_t>& axes = n.attrs.ints("axes");
  std::vector<int64_t> rdims;
  for (int64_t a : axes)
    rdims.push_back(in[static_cast<int>(a)]);
  const Index red = decompose(rdims, r, batch);
  Index at;
  for (int d = 0, o = 0, k = 0; d < in.rank(); ++d) {
    const bool reduced = k < static_cast<int>(axes.size()) && axes[static_cast<size_t>(k)] == d;
    at.push_back(reduced ? red[static_cast<size_t>(k++)] : out[static_cast<size_t>(o++)]);
  }
  return at;
}

std::string CudaEmitter::finish(const Group& grp, const std::string& acc,
                                const std::string& batch) const {
  return reduce_finalize(g_.node(grp.roots[0]), acc, reduced_count(grp, batch));
}

void CudaEmitter::element(const Group& grp, const Index& idx) {
  e_.push_scope();
  const NodeId r = grp.roots[0];
  const Node& n = g_.node(r);
  const std::string t = c_type_of(n.type.dtype);
  if (grp.kind == Group::Kind::Pointwise) {
    roots_at(grp, 0, idx);
    e_.pop_scope();
    return;
  }
  std::string result;
  if (grp.kind == Group::Kind::Reduce && g_.node(n.inputs[0]).op == Op::Constant) {
    // A reduction of a splat needs no loop (mean's derivative divides by such a count).
    const std::string c = c_literal(g_.node(n.inputs[0]).attrs.f("value"), n.type.dtype);
    result = reduce_of_splat(n, c, reduced_count(grp));
  } else if (grp.kind == Group::Kind::Reduce) {
    const std::string acc = e_.fresh("acc");
    w_.line(t + " " + acc + " = " + reduce_identity(n) + ";");
    const std::string rv = e_.fresh("r");
    w_.open("for (int " + rv + " = 0; " + rv + " < " + reduced_count(grp) + "; ++" + rv + ")");
    e_.push_scope();
    w_.line(reduce_combine(n, acc, e_.value(n.inputs[0], reduce_input_index(grp, idx, rv))));
    e_.pop_scope();
    w_.close();
    result = finish(grp, acc, "N");
  } else if (grp.kind == Group::Kind::Window) {
    result = e_.window(r, idx);
  } else {
    const NodeId a = n.inputs[0], b = n.inputs[1];
    const bool ta = n.attrs.i("ta") != 0, tb = n.attrs.i("tb") != 0;
    const int64_t depth = g_.node(a).type.shape[ta ? 0 : 1];
    const std::string acc = e_.fresh("acc"), k = e_.fresh("k");
    w_.line(t + " " + acc + " = " + c_literal(0, n.type.dtype) + ";");
    w_.open("for (int " + k + " = 0; " + k + " < " + c_dim(depth) + "; ++" + k + ")");
    e_.push_scope();
    const std::string av = e_.value(a, ta ? Index{k, idx[0]} : Index{idx[0], k});
    const std::string bv = e_.value(b, tb ? Index{idx[1], k} : Index{k, idx[1]});
    w_.line(acc + " += " + av + " * " + bv + ";");
    e_.pop_scope();
    w_.close();
    result = acc;
  }
  const std::string name = e_.fresh("t" + std::to_string(r));
  w_.line("const " + t + " " + name + " = " + result + ";");
  finish_root(grp, r, idx, name);
  e_.pop_scope();
}

void CudaEmitter::block_reduce(const Group& grp, const Index& idx) {
  const Node& n = g_.node(grp.roots[0]);
  KILN_ASSERT(grp.kind == Group::Kind::Reduce, "block_reduce of a ", ir::op_name(n.op), " group");
  if (g_.node(n.inputs[0]).op == Op::Constant) {
    w_.open("if (threadIdx.x == 0)");
    element(grp, idx);
    w_.close();
    return;
  }
  const std::string t = c_type_of(n.type.dtype);
  e_.push_scope();
  const std::string part = e_.fresh("part"), rv = e_.fresh("r");
  w_.line(t + " " + part + " = " + reduce_identity(n) + ";");
  w_.open("for (int " + rv + " = (int)threadIdx.x; " + rv + " < " + reduced_count(grp) + "; " + rv +
          " += (int)blockDim.x)");
  e_.push_scope();
  w_.line(reduce_combine(n, part, e_.value(n.inputs[0], reduce_input_index(grp, idx, rv))));
  e_.pop_scope();
  w_.close();
  const std::string total = e_.fresh("total");
  w_.line("const " + t + " " + total + " = kiln_block_reduce(" + part + ", " +
          reduction_buffer(n.type.dtype) + ", " + reduce_combiner(n) + ");");
  w_.open("if (threadIdx.x == 0)");
  const std::string name = e_.fresh("t" + std::to_string(grp.roots[0]));
  w_.line("const " + t + " " + name + " = " + finish(grp, total, "N") + ";");
  finish_root(grp, grp.roots[0], idx, name);
  w_.close();
  e_.pop_scope();
}

std::string CudaEmitter::reduction_buffer(ir::DType t) {
  red_types_.insert(t);
  std::string red = "kiln_red_" + c_type_of(t);
  for (char& c : red)
    c = c == ' ' ? '_' : c;
  return red;
}

std::string CudaEmitter::shared_declarations() const {
  std::string s;
  for (ir::DType t : red_types_) {
    std::string red = "kiln_red_" + c_type_of(t);
    for (char& c : red)
      c = c == ' ' ? '_' : c;
    s += "__shared__ " + c_type_of(t) + " " + red + "[" + std::to_string(kBlock) + "];\n";
  }
  return s;
}

} // namespace kiln::codegen::cuda
