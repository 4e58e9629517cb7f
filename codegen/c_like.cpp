#include "codegen/c_like.h"

#include <cmath>

#include "base/error.h"

namespace kiln::codegen {

using ir::Node;
using ir::NodeId;
using ir::Op;
using ir::OpKind;

std::string c_type_of(ir::DType t) {
  return std::string(ir::c_type(t));
}

std::string c_literal(double v, ir::DType t) {
  switch (t) {
  case ir::DType::F32:
    if (std::isnan(v))
      return "__builtin_nanf(\"\")";
    if (std::isinf(v))
      return v > 0 ? "__builtin_inff()" : "(-__builtin_inff())";
    return (v < 0 ? "(" : "") + ir::format_double(static_cast<float>(v)) + "f" + (v < 0 ? ")" : "");
  case ir::DType::F64:
    if (std::isnan(v))
      return "__builtin_nan(\"\")";
    if (std::isinf(v))
      return v > 0 ? "__builtin_inf()" : "(-__builtin_inf())";
    return (v < 0 ? "(" : "") + ir::format_double(v) + (v < 0 ? ")" : "");
  case ir::DType::I32:
    return "(" + std::to_string(static_cast<int64_t>(v)) + ")";
  case ir::DType::I64:
    return "(" + std::to_string(static_cast<int64_t>(v)) + "LL)";
  }
  return "0";
}

std::string c_dim(int64_t d) {
  return d == ir::kBatch ? "N" : std::to_string(d);
}

std::string c_numel(const std::vector<int64_t>& dims) {
  int64_t fixed = 1;
  int batch = 0;
  for (int64_t d : dims) {
    if (d == ir::kBatch)
      ++batch;
    else
      fixed *= d;
  }
  if (batch == 0)
    return std::to_string(fixed);
  std::string s = "N";
  for (int i = 1; i < batch; ++i)
    s += "*N";
  return fixed == 1 ? s : "(" + s + "*" + std::to_string(fixed) + ")";
}

std::string c_offset(const ir::Shape& shape, const Index& idx) {
  KILN_ASSERT(static_cast<int>(idx.size()) == shape.rank(), "index rank ", idx.size(), " for ",
              shape);
  std::string s;
  for (int d = 0; d < shape.rank(); ++d) {
    if (idx[static_cast<size_t>(d)] == "0")
      continue;
    const std::vector<int64_t> rest(shape.dims().begin() + d + 1, shape.dims().end());
    const std::string stride = c_numel(rest);
    if (!s.empty())
      s += " + ";
    s += stride == "1" ? idx[static_cast<size_t>(d)] : idx[static_cast<size_t>(d)] + "*" + stride;
  }
  return s.empty() ? "0" : s;
}

std::string fill_pattern(std::string_view pat, const std::vector<std::string>& args,
                         const std::string& type) {
  std::string e;
  for (size_t i = 0; i < pat.size(); ++i) {
    const char c = i + 1 < pat.size() ? pat[i + 1] : '\0';
    if (pat[i] == '{' && i + 2 < pat.size() && pat[i + 2] == '}' &&
        (c == 'T' || (c >= '0' && c <= '9'))) {
      e += c == 'T' ? type : args.at(static_cast<size_t>(c - '0'));
      i += 2;
    } else {
      e += pat[i];
    }
  }
  return e;
}

std::string render_elementwise(const Node& n, const std::vector<std::string>& args,
                               const std::string& offset) {
  std::string e = fill_pattern(n.def().render, args, c_type_of(n.type.dtype));
  for (size_t pos = e.find("{I}"); pos != std::string::npos; pos = e.find("{I}", pos))
    e.replace(pos, 3, "(" + offset + ")");
  for (size_t pos = e.find("{="); pos != std::string::npos; pos = e.find("{=", pos)) {
    const size_t end = e.find('}', pos);
    KILN_ASSERT(end != std::string::npos, "unterminated {= in the rendering of ", n.def().name);
    const std::string key = e.substr(pos + 2, end - pos - 2);
    std::string literal;
    for (const auto& [k, v] : n.attrs.items())
      if (k == key)
        literal = std::holds_alternative<double>(v) ? ir::format_double(std::get<double>(v))
                                                    : std::to_string(std::get<int64_t>(v));
    KILN_ASSERT(!literal.empty(), "the rendering of ", n.def().name, " needs attribute ", key);
    e.replace(pos, end - pos + 1, literal);
  }
  return e;
}

namespace {
/** The renderer's side of a window op's rendering (ir/window.h). */
class Writer final : public ir::ElementWriter {
public:
  Writer(ExprEmitter& e, const Node& n, std::string index_type)
      : e_(e), n_(n), index_type_(std::move(index_type)) {}
  std::string operand(size_t i, const std::vector<std::string>& idx) override {
    // Index expressions get multiplied by strides: a compound one needs parentheses.
    Index at;
    for (const std::string& x : idx)
      at.push_back(x.find_first_of(" +-*/%") == std::string::npos ? x : "(" + x + ")");
    return e_.value(n_.inputs[i], at);
  }
  void line(const std::string& s) override { e_.writer().line(s); }
  void open(const std::string& head) override {
    e_.writer().open(head);
    e_.push_scope();
  }
  void close() override {
    e_.pop_scope();
    e_.writer().close();
  }
  std::string fresh(const std::string& stem) override { return e_.fresh(stem); }
  std::string index_type() const override { return index_type_; }

private:
  ExprEmitter& e_;
  const Node& n_;
  std::string index_type_;
};

const ir::ReduceRule& rule_of(const Node& n) {
  // A matrix product accumulates its terms as a sum does (partial sums over chunks of rows).
  if (n.def().kind == OpKind::MatMul)
    return *ir::op_def(Op::Sum).reduce;
  KILN_ASSERT(n.def().reduce, ir::op_name(n.op), " is not a reduction");
  return *n.def().reduce;
}
} // namespace

std::string reduce_identity(const Node& n) {
  return c_literal(rule_of(n).identity, n.type.dtype);
}

std::string reduce_combine(const Node& n, const std::string& acc, const std::string& v) {
  return fill_pattern(rule_of(n).combine_c, {acc, v}, c_type_of(n.type.dtype));
}

std::string reduce_finalize(const Node& n, const std::string& acc, const std::string& count) {
  const std::string_view f = rule_of(n).finalize_c;
  return f.empty() ? acc : fill_pattern(f, {acc, count}, c_type_of(n.type.dtype));
}

std::string reduce_of_splat(const Node& n, const std::string& c, const std::string& count) {
  return fill_pattern(rule_of(n).of_splat_c, {c, count}, c_type_of(n.type.dtype));
}

std::string reduce_combiner(const Node& n) {
  const std::string t = c_type_of(n.type.dtype);
  return "[](" + t + " kiln_a, " + t + " kiln_b) { " + reduce_combine(n, "kiln_a", "kiln_b") +
         " return kiln_a; }";
}

ExprEmitter::ExprEmitter(const Schedule& sc, CodeWriter& w, Target target)
    : sc_(sc), g_(sc.graph), w_(w), target_(std::move(target)) {
  memo_.emplace_back();
}

std::string ExprEmitter::fresh(const std::string& stem) {
  const int k = names_[stem]++;
  return k == 0 ? stem : stem + "_" + std::to_string(k);
}

std::string ExprEmitter::key(NodeId n, const Index& idx) const {
  std::string k = std::to_string(n) + "@";
  for (const std::string& i : idx)
    k += i + ",";
  return k;
}

void ExprEmitter::bind(NodeId n, const Index& idx, const std::string& expr) {
  memo_.back()[key(n, idx)] = expr;
}

std::string ExprEmitter::declare(NodeId n, const std::string& expr) {
  const std::string name = fresh("t" + std::to_string(n));
  w_.line(target_.const_qualifier + c_type_of(g_.node(n).type.dtype) + " " + name + " = " + expr +
          ";");
  return name;
}

std::string ExprEmitter::element(NodeId n, const Index& idx) const {
  const int slot = sc_.slot_of[n];
  KILN_ASSERT(slot >= 0, "node %", n, " is read from memory but has no buffer");
  const ir::Shape& shape = g_.node(n).type.shape;
  const auto pitch = pitch_.find(slot);
  if (const auto offset = offset_.find(slot); offset != offset_.end()) {
    Index at = idx;
    at[0] = "(" + offset->second + " + " + idx[0] + ")";
    return slot_name(slot) + "[" + c_offset(shape, at) + "]";
  }
  if (pitch == pitch_.end())
    return slot_name(slot) + "[" + c_offset(shape, idx) + "]";
  const ir::Shape row(std::vector<int64_t>(shape.dims().begin() + 1, shape.dims().end()));
  const std::string rest = c_offset(row, Index(idx.begin() + 1, idx.end()));
  const std::string at = idx[0] == "0" ? rest
                         : rest == "0"
                             ? idx[0] + "*" + std::to_string(pitch->second)
                             : idx[0] + "*" + std::to_string(pitch->second) + " + " + rest;
  return slot_name(slot) + "[" + at + "]";
}

std::string ExprEmitter::load(NodeId n, const Index& idx) {
  return element(n, idx);
}

std::string ExprEmitter::value(NodeId n, const Index& idx) {
  const std::string k = key(n, idx);
  for (auto it = memo_.rbegin(); it != memo_.rend(); ++it)
    if (auto f = it->find(k); f != it->end())
      return f->second;
  const Node& node = g_.node(n);
  std::string v;
  switch (sc_.storage[n]) {
  case Storage::Leaf:
    if (node.op == Op::Constant)
      return c_literal(node.attrs.f("value"), node.type.dtype);
    v = load(n, idx);
    break;
  case Storage::Root:
    KILN_ASSERT(sc_.stored[n], "root %", n, " is read outside its iteration but is not stored");
    v = load(n, idx);
    break;
  case Storage::Inline:
    v = emit_op(n, idx);
    break;
  }
  memo_.back()[k] = v;
  return v;
}

std::string ExprEmitter::compute(NodeId n, const Index& idx) {
  const std::string v = emit_op(n, idx);
  bind(n, idx, v);
  return v;
}

std::string ExprEmitter::window(NodeId n, const Index& idx) {
  const Node& node = g_.node(n);
  KILN_ASSERT(node.def().window, ir::op_name(node.op), " is not a window op");
  std::vector<ir::Type> in;
  for (NodeId x : node.inputs)
    in.push_back(g_.node(x).type);
  Writer writer(*this, node, target_.index_type);
  return node.def().window->element(writer, node, in, idx);
}

std::string ExprEmitter::emit_op(NodeId n, const Index& idx) {
  const Node& node = g_.node(n);
  const ir::Shape& out = node.type.shape;
  switch (node.def().kind) {
  case OpKind::Elementwise: {
    std::vector<std::string> args;
    for (NodeId in : node.inputs)
      args.push_back(value(in, idx));
    const std::string t = c_type_of(node.type.dtype);
    if (node.def().positional)
      return declare(n, render_elementwise(node, args, c_offset(out, idx)));
    if (reciprocals_ && node.op == Op::Div && ir::is_float(node.type.dtype) &&
        same_everywhere(node.inputs[1]))
      return declare(n, "(" + args[0] + " * ((" + t + ")1 / " + args[1] + "))");
    return declare(n, fill_pattern(node.def().render, args, t));
  }
  case OpKind::Movement: {
    const NodeId in = node.inputs[0];
    const ir::Shape& s = g_.node(in).type.shape;
    Index at(static_cast<size_t>(s.rank()));
    switch (node.op) {
    case Op::Broadcast: {
      const int lead = out.rank() - s.rank();
      for (int d = 0; d < s.rank(); ++d)
        at[static_cast<size_t>(d)] = s[d] == 1 ? "0" : idx[static_cast<size_t>(d + lead)];
      return value(in, at);
    }
    case Op::Transpose: {
      const std::vector<int64_t>& perm = node.attrs.ints("perm");
      for (size_t d = 0; d < perm.size(); ++d)
        at[static_cast<size_t>(perm[d])] = idx[d];
      return value(in, at);
    }
    case Op::Slice: {
      const auto axis = static_cast<size_t>(node.attrs.i("axis"));
      at = idx;
      at[axis] = "(" + idx[axis] + " + " + std::to_string(node.attrs.i("begin")) + ")";
      return value(in, at);
    }
    case Op::Reshape: {
      // A reshape of a buffer reads it at the same row-major offset.
      const Storage st = sc_.storage[in];
      if (sc_.slot_of[in] >= 0 &&
          (st == Storage::Leaf || (st == Storage::Root && sc_.stored[in])) &&
          g_.node(in).op != Op::Constant)
        return ExprEmitter::slot_name(sc_.slot_of[in]) + "[" + c_offset(out, idx) + "]";
      // Reshapes that only add or drop 1s keep the other dims in order: no arithmetic.
      std::vector<size_t> out_real, in_real;
      for (int d = 0; d < out.rank(); ++d)
        if (out[d] != 1)
          out_real.push_back(static_cast<size_t>(d));
      for (int d = 0; d < s.rank(); ++d)
        if (s[d] != 1)
          in_real.push_back(static_cast<size_t>(d));
      bool simple = out_real.size() == in_real.size();
      for (size_t k = 0; simple && k < out_real.size(); ++k)
        simple = out[static_cast<int>(out_real[k])] == s[static_cast<int>(in_real[k])];
      for (auto& a : at)
        a = "0";
      if (simple) {
        for (size_t k = 0; k < in_real.size(); ++k)
          at[in_real[k]] = idx[out_real[k]];
        return value(in, at);
      }
      const std::string flat = fresh("flat" + std::to_string(n));
      w_.line(target_.const_qualifier + target_.index_type + " " + flat + " = " +
              c_offset(out, idx) + ";");
      for (int d = 0; d < s.rank(); ++d) {
        const std::vector<int64_t> rest(s.dims().begin() + d + 1, s.dims().end());
        // The leading index is below its dim already: no remainder (a division by N).
        at[static_cast<size_t>(d)] =
            d == 0 ? "(" + flat + " / " + c_numel(rest) + ")"
                   : "((" + flat + " / " + c_numel(rest) + ") % " + c_dim(s[d]) + ")";
      }
      return value(in, at);
    }
    case Op::Concat:
      return emit_concat(n, idx);
    default:
      break;
    }
    break;
  }
  case OpKind::Index: {
    const Index lead(idx.begin(), idx.end() - 1);
    if (node.op == Op::OneHot) {
      const std::string label = value(node.inputs[0], lead);
      const std::string t = c_type_of(node.type.dtype);
      return declare(n, "((" + label + ") == " + idx.back() + " ? (" + t + ")1 : (" + t + ")0)");
    }
    // gather: x[..., idx[...]]
    const std::string k = fresh("k" + std::to_string(n));
    w_.line(target_.const_qualifier + target_.index_type + " " + k + " = " +
            value(node.inputs[1], idx) + ";");
    Index at = idx;
    at.push_back(k);
    return value(node.inputs[0], at);
  }
  default:
    break;
  }
  throw InternalError(str("codegen: cannot inline %", n, " (", ir::op_name(node.op), ")"));
}

bool ExprEmitter::same_everywhere(NodeId n) const {
  const Node& x = g_.node(n);
  if (x.type.shape.rank() == 0)
    return true;
  return x.op == Op::Broadcast && !g_.node(x.inputs[0]).type.shape.has_batch() &&
         g_.node(x.inputs[0]).type.shape.static_numel() == 1;
}

std::string ExprEmitter::emit_concat(NodeId n, const Index& idx) {
  const Node& node = g_.node(n);
  const auto axis = static_cast<size_t>(node.attrs.i("axis"));
  const std::string out = fresh("t" + std::to_string(n));
  w_.line(c_type_of(node.type.dtype) + " " + out + ";");
  int64_t offset = 0;
  for (size_t p = 0; p < node.inputs.size(); ++p) {
    const NodeId part = node.inputs[p];
    const int64_t len = g_.node(part).type.shape[static_cast<int>(axis)];
    const std::string cond = "if (" + idx[axis] + " < " + std::to_string(offset + len) + ")";
    if (p == 0)
      w_.open(cond);
    else
      w_.reopen(p + 1 == node.inputs.size() ? "else" : "else " + cond);
    // Each branch reads its own part; nothing it names is visible after it.
    push_scope();
    Index at = idx;
    at[axis] = offset == 0 ? idx[axis] : "(" + idx[axis] + " - " + std::to_string(offset) + ")";
    w_.line(out + " = " + value(part, at) + ";");
    pop_scope();
    offset += len;
  }
  w_.close();
  return out;
}

} // namespace kiln::codegen
