#include "codegen/cuda/renderer.h"

#include <algorithm>

#include "base/error.h"
#include "base/hash.h"
#include "codegen/cuda/emitter.h"
#include "codegen/cuda/kernels.h"

namespace kiln::codegen {

using ir::NodeId;
using ir::Op;

int64_t Extent::at(int64_t N) const {
  int64_t v = fixed;
  for (int i = 0; i < batch_pow; ++i)
    v *= N;
  return v;
}

Extent Extent::of(const ir::Shape& s) {
  Extent e;
  for (int64_t d : s.dims()) {
    if (d == ir::kBatch)
      ++e.batch_pow;
    else
      e.fixed *= d;
  }
  return e;
}

int64_t CudaLaunch::blocks(int64_t N) const {
  int64_t b = 1;
  for (const auto& [extent, per_block] : grid)
    b *= (extent.at(N) + per_block - 1) / per_block;
  return std::clamp<int64_t>(b, 1, max_blocks);
}

int64_t CudaLaunch::shared_bytes(int64_t N) const {
  int64_t total = shared_fixed;
  for (const auto& [extent, bytes] : shared_terms)
    total += (extent.at(N) * bytes + 15) & ~int64_t{15};
  return total;
}

int64_t CudaPlan::workspace_bytes(int64_t N) const {
  if (ws_launch < 0)
    return 0;
  return launches[static_cast<size_t>(ws_launch)].blocks(N) * ws_block_bytes;
}

const CudaPlan& CudaKernel::plan_for(int64_t N) const {
  for (const CudaPlan& p : plans)
    if (p.max_batch == 0 || N <= p.max_batch)
      return p;
  KILN_ASSERT(false, "no CUDA plan serves batch size ", N);
  return plans.back();
}

int64_t CudaKernel::epoch_workspace_bytes(int64_t n, int64_t batch) const {
  auto align = [](int64_t b) { return (b + 255) & ~int64_t{255}; };
  int64_t total = align(4 * n);
  for (const std::string& name : epoch_data) {
    const Slot& s = schedule.slots[slot_named(schedule, Slot::Role::Input, name)];
    total += align(ir::dtype_bytes(s.type.dtype) * batch * s.type.shape.static_numel());
  }
  return total;
}

int64_t CudaKernel::epoch_shared_bytes(int64_t batch) const {
  for (const CudaPlan& p : plans)
    if (p.kind == CudaPlan::Kind::SingleBlock)
      return p.launches[0].shared_bytes(batch);
  return 0;
}

namespace cuda {

std::string kernel_signature(const std::string& name, const std::string& params, int block) {
  return "extern \"C\" __global__ void __launch_bounds__(" + std::to_string(block) + ") " + name +
         "(" + params + ")";
}

namespace {

constexpr int64_t kMaxGrid = 65535;
/** Below this many elements per output a reduction is one thread's loop, above it a block's. */
constexpr int64_t kBlockReduceFrom = 1024;

std::string grid_stride(const std::string& var, const std::string& total) {
  return "for (int " + var + " = (int)(blockIdx.x * " + std::to_string(kBlock) +
         "u + threadIdx.x); " + var + " < " + total + "; " + var + " += (int)(gridDim.x * " +
         std::to_string(kBlock) + "u))";
}

/** A kernel that runs `body_fn(emitter)` once; returns its launch (grid over `elements`). */
template <class Body>
CudaLaunch simple_kernel(const Schedule& sc, const std::string& name, Extent elements,
                         int64_t per_block, std::vector<std::string>& texts, Body&& body_fn) {
  CudaEmitter em(sc);
  body_fn(em);
  texts.push_back(kernel_signature(name, join_params(step_params(sc)), kBlock) + " {\n" +
                  em.shared_declarations() + em.w().str() + "}\n\n");
  CudaLaunch l;
  l.kernel = name;
  l.block = kBlock;
  l.grid = {{elements, per_block}};
  l.max_blocks = kMaxGrid;
  return l;
}

/** A reduction to a fixed number of outputs over a batch-sized or large extent: a block each. */
bool block_reduction(const Schedule& sc, const Group& grp) {
  const ir::Node& n = sc.graph.node(grp.roots[0]);
  if (sc.graph.node(n.inputs[0]).op == Op::Constant || Extent::of(grp.domain).batch_pow > 0)
    return false;
  const ir::Shape& in = sc.graph.node(n.inputs[0]).type.shape;
  Extent red;
  for (int64_t a : n.attrs.ints("axes")) {
    const int64_t d = in[static_cast<int>(a)];
    if (d == ir::kBatch)
      ++red.batch_pow;
    else
      red.fixed *= d;
  }
  return red.batch_pow > 0 || red.fixed >= kBlockReduceFrom;
}

CudaLaunch group_kernel(const Schedule& sc, size_t gi, std::vector<std::string>& texts) {
  const Group& grp = sc.groups[gi];
  if (grp.kind == Group::Kind::MatMul) {
    texts.emplace_back();
    return matmul_kernel(sc, gi, texts.back());
  }
  const std::string name = str(kNamePrefix, "_g", gi);
  const Extent out = Extent::of(grp.domain);
  const std::string total = numel_expr(grp.domain.dims());
  if (grp.kind == Group::Kind::Reduce && block_reduction(sc, grp)) {
    // One block per output: every thread takes a strided share of the reduced elements.
    return simple_kernel(sc, name, out, 1, texts, [&](CudaEmitter& em) {
      em.w().line(em.title(grp));
      em.w().open("for (int o = (int)blockIdx.x; o < " + total + "; o += (int)gridDim.x)");
      em.block_reduce(grp, CudaEmitter::decompose(grp.domain.dims(), "o"));
      em.w().close();
    });
  }
  return simple_kernel(sc, name, out, kBlock, texts, [&](CudaEmitter& em) {
    em.w().line(em.title(grp));
    em.w().open(grid_stride("f", total));
    em.element(grp, CudaEmitter::decompose(grp.domain.dims(), "f"));
    em.w().close();
  });
}

} // namespace

CudaPlan per_group_plan(const Schedule& sc, std::vector<std::string>& texts) {
  CudaPlan plan;
  plan.kind = CudaPlan::Kind::PerGroup;
  for (size_t gi = 0; gi < sc.groups.size(); ++gi)
    plan.launches.push_back(group_kernel(sc, gi, texts));
  for (size_t c = 0; c < sc.output_copies.size(); ++c) {
    const auto [slot, node] = sc.output_copies[c];
    const ir::Shape& shape = sc.graph.node(node).type.shape;
    plan.launches.push_back(simple_kernel(
        sc, str(kNamePrefix, "_copy", c), Extent::of(shape), kBlock, texts, [&](CudaEmitter& em) {
          em.w().line("// output " + sc.slots[static_cast<size_t>(slot)].name + " = %" +
                      std::to_string(node));
          em.w().open(grid_stride("f", numel_expr(shape.dims())));
          em.e().push_scope();
          const Index idx = CudaEmitter::decompose(shape.dims(), "f");
          const std::string v = em.e().value(node, idx);
          em.w().line(ExprEmitter::slot_name(slot) + "[" + c_offset(shape, idx) + "] = " + v + ";");
          em.e().pop_scope();
          em.w().close();
        }));
  }
  for (size_t c = 0; c < sc.copy_back.size(); ++c) {
    const auto [from, to] = sc.copy_back[c];
    const Slot& dst = sc.slots[static_cast<size_t>(to)];
    plan.launches.push_back(simple_kernel(
        sc, str(kNamePrefix, "_back", c), Extent::of(dst.type.shape), kBlock, texts,
        [&](CudaEmitter& em) {
          em.w().line("// update " + dst.name + " (read after its new value is known)");
          em.w().open(grid_stride("f", numel_expr(dst.type.shape.dims())));
          em.w().line(ExprEmitter::slot_name(to) + "[f] = " + ExprEmitter::slot_name(from) +
                      "[f];");
          em.w().close();
        }));
  }
  for (size_t s = 0; s < sc.slots.size(); ++s)
    if (sc.slots[s].role == Slot::Role::Scratch)
      plan.device_scratch.push_back(static_cast<int>(s));
  plan.summary =
      str("per-group: ", plan.launches.size(), " kernels (", sc.groups.size(), " groups)");
  return plan;
}

} // namespace cuda

namespace {

void check_epoch_names(const Schedule& sc, const EpochSpec& spec) {
  for (const std::string& d : spec.data)
    slot_named(sc, Slot::Role::Input, d);
  for (const std::string& m : spec.metrics)
    metric_slot(sc, m);
}

} // namespace

CudaKernel render_cuda(const ir::Graph& g, const CudaOptions& options) {
  CudaKernel k;
  k.schedule = schedule(g, options.updates);
  const Schedule& sc = k.schedule;
  if (options.epoch)
    check_epoch_names(sc, *options.epoch);
  k.step_params = cuda::step_params(sc);

  std::vector<std::string> per_group_texts;
  CudaPlan per_group = cuda::per_group_plan(sc, per_group_texts);
  std::string per_group_text;
  for (const std::string& t : per_group_texts)
    per_group_text += t;
  // Each plan is its own translation unit, so a program compiles only the plans it runs.
  std::vector<std::pair<CudaPlan, std::string>> plans;
  const CudaPlanChoice choice = options.plans;
  if (choice == CudaPlanChoice::Auto || choice == CudaPlanChoice::SingleBlock) {
    std::string text;
    if (std::optional<CudaPlan> p = cuda::single_block_plan(sc, text)) {
      if (options.epoch)
        cuda::epoch_kernel(k, *options.epoch, p->max_batch, text);
      plans.emplace_back(std::move(*p), std::move(text));
    }
  }
  if (choice == CudaPlanChoice::Auto || choice == CudaPlanChoice::Chunked) {
    std::string text;
    if (std::optional<CudaPlan> p = cuda::chunked_plan(sc, per_group, text, options.tf32)) {
      std::string pre;
      for (const CudaLaunch& l : p->launches)
        for (size_t i = 0; i < per_group.launches.size(); ++i)
          if (per_group.launches[i].kernel == l.kernel)
            pre += per_group_texts[i];
      plans.emplace_back(std::move(*p), pre + text);
    }
  }
  plans.emplace_back(std::move(per_group), per_group_text);

  std::string comment = "// kiln CUDA module. Groups (* = stored):\n";
  for (size_t gi = 0; gi < sc.groups.size(); ++gi) {
    comment += "//   " + std::to_string(gi) + ":";
    for (NodeId r : sc.groups[gi].roots)
      comment += str(" ", ir::op_name(g.node(r).op), sc.stored[r] ? "*" : "");
    comment += "\n";
  }
  comment += "// Plans:\n";
  for (const auto& [p, text] : plans)
    comment += str("//   ", p.summary,
                   p.max_batch > 0 ? str(" (N <= ", p.max_batch, ")") : std::string(), "\n");

  // The name comes from the content, so identical graphs share one cache entry.
  std::string all_kernels;
  for (const auto& [p, text] : plans)
    if (p.kind != CudaPlan::Kind::Chunked)
      all_kernels += text;
  for (const auto& [p, text] : plans)
    if (p.kind == CudaPlan::Kind::Chunked)
      all_kernels += text.substr(text.find("// The chunk kernel"));
  const std::string prefix = "kiln_" + hash_hex128(all_kernels).substr(0, 16);
  const std::string placeholder = cuda::kNamePrefix;
  auto finish = [&](std::string text) {
    for (size_t pos = text.find(placeholder); pos != std::string::npos;
         pos = text.find(placeholder, pos))
      text.replace(pos, placeholder.size(), prefix);
    return text;
  };
  auto rename = [&](std::string& s) {
    if (s.rfind(placeholder, 0) == 0)
      s = prefix + s.substr(placeholder.size());
  };
  const std::string head = comment + cuda_prelude(options.fast_math, options.tf32) + "\n";
  for (auto& [p, text] : plans) {
    p.source = finish(head + text);
    for (CudaLaunch& l : p.launches)
      rename(l.kernel);
    k.plans.push_back(std::move(p));
  }
  rename(k.epoch_kernel);
  k.source = finish(head + all_kernels);
  k.name = prefix;
  return k;
}

} // namespace kiln::codegen
