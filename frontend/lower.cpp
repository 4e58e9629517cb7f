#include "frontend/lower.h"

#include <atomic>
#include <cmath>

#include "base/error.h"
#include "base/hash.h"
#include "base/rng.h"

namespace kiln {

Init Init::fan_in_uniform(int64_t fan_in) {
  const double bound = 1.0 / std::sqrt(static_cast<double>(fan_in));
  return uniform(-bound, bound);
}

Init Init::default_for(const std::vector<int64_t>& dims) {
  if (dims.size() < 2)
    return zeros();
  int64_t fan_in = 1;
  for (size_t i = 1; i < dims.size(); ++i)
    fan_in *= dims[i];
  return fan_in_uniform(fan_in);
}

namespace detail {

std::shared_ptr<LeafState> make_leaf(LeafKind kind, std::string name, std::vector<int64_t> dims) {
  // Only an input's leading dim is the batch; a -1 anywhere else is a bad size, not a second N.
  for (size_t i = 0; i < dims.size(); ++i)
    if (dims[i] < 1 && !(i == 0 && kind != LeafKind::Param && dims[i] == ir::kBatch))
      throw ShapeError(str("[", kind == LeafKind::Param ? "Param" : "Input", "] '", name,
                           "' has a dim ", dims[i], "; every dim must be >= 1"));
  auto s = std::make_shared<LeafState>();
  s->kind = kind;
  s->name = std::move(name);
  s->dims = std::move(dims);
  return s;
}

std::string next_param_name() {
  static std::atomic<int> counter{0};
  return "param" + std::to_string(counter++);
}

} // namespace detail

ir::Val LowerCtx::leaf(const std::shared_ptr<detail::LeafState>& s) {
  using detail::LeafKind;
  auto [it, fresh] = leaves_.emplace(s->name, s);
  if (!fresh && it->second != s)
    throw ShapeError(str("[lower] two different leaves are named '", s->name,
                         "'; give each Input, Labels and Param its own name"));
  const ir::Shape shape(s->dims);
  switch (s->kind) {
  case LeafKind::Input:
    return {b_, b_.input(s->name, ir::Type{dtype_, shape})};
  case LeafKind::Labels:
    return {b_, b_.input(s->name, ir::Type{ir::DType::I32, shape})};
  case LeafKind::Param:
    if (fresh)
      params_.push_back({s->name, shape, s->init});
    return {b_, b_.param(s->name, ir::Type{dtype_, shape})};
  }
  return {};
}

ir::Val Expr::lower(LowerCtx& c) const {
  if (!node_)
    throw Error("[lower] an empty kiln::Expr was used; assign it an expression first");
  auto& memo = c.memo();
  if (auto it = memo.find(node_.get()); it != memo.end())
    return {c.builder(), it->second};
  const ir::Val v = node_->lower(c);
  memo.emplace(node_.get(), v.id());
  return v;
}

Lowered lower(const Outputs& outputs, ir::DType dtype, bool training) {
  if (!is_float(dtype))
    throw Error(str("[lower] the network dtype must be f32 or f64, got ", to_string(dtype)));
  LowerCtx ctx(dtype, training);
  for (const auto& [name, e] : outputs)
    ctx.builder().set_output(name, e.lower(ctx).id());
  return {ctx.builder().graph(), ctx.params()};
}

ir::Bindings init_parameters(const std::vector<ParamSpec>& params, uint64_t seed, ir::DType dtype) {
  ir::Bindings out;
  for (const ParamSpec& p : params) {
    Rng rng(seed, hash_string(p.name));
    ir::Tensor t(dtype, p.shape.dims());
    for (double& v : t.data) {
      switch (p.init.kind) {
      case Init::Kind::Zeros:
        v = 0.0;
        break;
      case Init::Kind::Constant:
        v = p.init.a;
        break;
      case Init::Kind::Uniform:
        v = rng.uniform(p.init.a, p.init.b);
        break;
      case Init::Kind::Normal:
        v = rng.normal(p.init.a, p.init.b);
        break;
      }
      v = ir::round_to(dtype, v);
    }
    out.emplace(p.name, std::move(t));
  }
  return out;
}

} // namespace kiln
