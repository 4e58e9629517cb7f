// The single-block plan and the fused epoch. For the course's networks at batch 5 a step is a
// few thousand multiply-adds spread over a dozen groups: on a GPU the launches, not the
// arithmetic, cost the time. So the whole step runs in one block: every group is a block-wide
// loop, groups are separated by __syncthreads(), and every scratch buffer lives in shared
// memory. The fused epoch wraps the same step in a loop over the mini-batches of a resident
// data set, shuffled on the device with kiln's PCG32: one launch per epoch.

#include <algorithm>

#include "base/error.h"
#include "codegen/cuda/emitter.h"
#include "codegen/cuda/kernels.h"

namespace kiln::codegen::cuda {

namespace {

/** Dynamic shared memory a block may use without opting in (48 KiB less the static buffers). */
constexpr int64_t kSharedBudget = 44 * 1024;
/** Block reductions of up to this many outputs of at least this many (static) elements. */
constexpr int64_t kBlockReduceOutputs = 4;
constexpr int64_t kBlockReduceFrom = 2048;
/** Multiply-adds one block finishes in about the time of a few launches (~10 us). */
constexpr int64_t kWorkBudget = int64_t{1} << 20;
constexpr int64_t kMaxBatch = 1024;

/** Multiply-adds (or elements) of one step at batch size N. */
int64_t work_at(const Schedule& sc, int64_t N) {
  const ir::Graph& g = sc.graph;
  int64_t total = 0;
  for (const Group& grp : sc.groups) {
    const int64_t out = Extent::of(grp.domain).at(N);
    const ir::Node& n = g.node(grp.roots[0]);
    int64_t per = static_cast<int64_t>(grp.roots.size());
    if (grp.kind == Group::Kind::Reduce)
      per += Extent::of(g.node(n.inputs[0]).type.shape).at(N) / std::max<int64_t>(out, 1);
    if (grp.kind == Group::Kind::MatMul)
      per += Extent::of(ir::Shape{g.node(n.inputs[0]).type.shape[n.attrs.i("ta") ? 0 : 1]}).at(N);
    // A window reads at most its operands whole per element (a bound: the plan is for small
    // steps, and a convolution's is rarely small).
    if (grp.kind == Group::Kind::Window)
      for (ir::NodeId x : n.inputs)
        per += Extent::of(g.node(x).type.shape).at(N);
    total += out * per;
  }
  return total;
}

/**
 * A reduction to a few outputs over many elements takes the whole block per output; others take
 * one thread per output. Batch-sized reductions are one thread's loop: the plan's batches are
 * small, and a loop over a few hundred values costs less than a block reduction's barriers.
 */
bool reduce_by_block(const Schedule& sc, const Group& grp) {
  if (grp.kind != Group::Kind::Reduce || Extent::of(grp.domain).at(2) > kBlockReduceOutputs)
    return false;
  const ir::Node& n = sc.graph.node(grp.roots[0]);
  const Extent in = Extent::of(sc.graph.node(n.inputs[0]).type.shape);
  return sc.graph.node(n.inputs[0]).op != ir::Op::Constant && in.batch_pow == 0 &&
         in.fixed >= kBlockReduceFrom;
}

/**
 * Joins the parts of the step body, with a barrier before a part that reads a slot an earlier
 * part wrote, or writes a slot an earlier part used, since the last barrier; and one at the end.
 */
class Barriers {
public:
  explicit Barriers(size_t slots) : used_(slots, false), written_(slots, false) {}

  void add(const std::string& text, const std::vector<int>& writes) {
    bool need = false;
    for (int s = 0; s < static_cast<int>(used_.size()); ++s) {
      const bool uses = uses_slot(text, s);
      const bool writes_s = std::find(writes.begin(), writes.end(), s) != writes.end();
      need = need || (uses && written_[static_cast<size_t>(s)]) ||
             (writes_s && used_[static_cast<size_t>(s)]);
    }
    if (need) {
      body_ += "__syncthreads();\n";
      std::fill(used_.begin(), used_.end(), false);
      std::fill(written_.begin(), written_.end(), false);
    }
    body_ += text;
    for (int s = 0; s < static_cast<int>(used_.size()); ++s)
      used_[static_cast<size_t>(s)] = used_[static_cast<size_t>(s)] || uses_slot(text, s);
    for (int s : writes)
      written_[static_cast<size_t>(s)] = true;
  }
  std::string finish() const { return body_ + "__syncthreads();\n"; }

private:
  std::string body_;
  std::vector<bool> used_, written_;
};

/** The step body as a device function: shared-memory scratch, groups split by barriers. */
std::string block_step_function(const Schedule& sc, CudaLaunch& launch) {
  CudaEmitter em(sc);
  CodeWriter& w = em.w();
  Barriers parts(sc.slots.size());
  size_t mark = 0;
  auto next = [&](const std::vector<int>& writes) {
    parts.add(w.str().substr(mark), writes);
    mark = w.str().size();
  };
  for (const Group& grp : sc.groups) {
    w.line(em.title(grp));
    if (reduce_by_block(sc, grp)) {
      w.open("for (int o = 0; o < " + numel_expr(grp.domain.dims()) + "; ++o)");
      em.block_reduce(grp, CudaEmitter::decompose(grp.domain.dims(), "o"));
      w.close();
    } else {
      w.open(block_loop("f", numel_expr(grp.domain.dims())));
      em.element(grp, CudaEmitter::decompose(grp.domain.dims(), "f"));
      w.close();
    }
    std::vector<int> writes;
    for (ir::NodeId r : grp.roots)
      if (sc.stored[r])
        writes.push_back(sc.slot_of[r]);
    next(writes);
  }
  for (const auto& [slot, node] : sc.output_copies) {
    const ir::Shape& shape = sc.graph.node(node).type.shape;
    w.line("// output " + sc.slots[static_cast<size_t>(slot)].name);
    w.open(block_loop("f", numel_expr(shape.dims())));
    em.e().push_scope();
    const Index idx = CudaEmitter::decompose(shape.dims(), "f");
    const std::string v = em.e().value(node, idx);
    w.line(ExprEmitter::slot_name(slot) + "[" + c_offset(shape, idx) + "] = " + v + ";");
    em.e().pop_scope();
    w.close();
    next({slot});
  }
  for (const auto& [from, to] : sc.copy_back) {
    const Slot& dst = sc.slots[static_cast<size_t>(to)];
    w.line("// update " + dst.name);
    w.line(block_loop("f", numel_expr(dst.type.shape.dims())) + " " + ExprEmitter::slot_name(to) +
           "[f] = " + ExprEmitter::slot_name(from) + "[f];");
    next({to});
  }
  const std::string body = parts.finish();

  // Scratch slots in shared memory, in slot order; the host sizes them with the same terms.
  std::string decls, offset = "0";
  std::vector<std::pair<std::string, std::string>> params;
  for (const auto& p : step_params(sc)) {
    if (p.second == "kiln_ws")
      continue;
    if (p.second == "N") {
      params.push_back(p);
      continue;
    }
    const int s = std::stoi(p.second.substr(1));
    const Slot& slot = sc.slots[static_cast<size_t>(s)];
    if (slot.role != Slot::Role::Scratch) {
      params.push_back(p);
      continue;
    }
    const std::string t = c_type_of(slot.type.dtype);
    if (uses_slot(body, s))
      decls += "  " + t + "* " + p.second + " = (" + t + "*)(kiln_smem + " + offset + ");\n";
    const std::string bytes =
        "kiln_align16((int)sizeof(" + t + ") * " + numel_expr(slot.type.shape.dims()) + ")";
    offset = offset == "0" ? bytes : offset + " + " + bytes;
    launch.shared_terms.push_back({Extent::of(slot.type.shape), ir::dtype_bytes(slot.type.dtype)});
  }
  // Not inlined: the step kernel and the epoch kernel share one copy (ptxas time grows with code).
  std::string f =
      "static __device__ __noinline__ void kiln_block_step(" + join_params(params) + ") {\n";
  f += decls;
  const std::string red = em.shared_declarations();
  for (size_t pos = 0; pos < red.size();) {
    const size_t next = red.find('\n', pos);
    f += "  " + red.substr(pos, next - pos) + "\n";
    pos = next + 1;
  }
  for (size_t pos = 0; pos < body.size();) {
    const size_t next = body.find('\n', pos);
    f += "  " + body.substr(pos, next - pos) + "\n";
    pos = next + 1;
  }
  return f + "}\n\n";
}

/** The names of kiln_block_step's arguments, with `replace` substituted for some slots. */
std::string step_args(const Schedule& sc, const std::vector<std::pair<int, std::string>>& replace,
                      const std::string& batch) {
  std::string args = batch;
  for (size_t s = 0; s < sc.slots.size(); ++s) {
    if (sc.slots[s].role == Slot::Role::Scratch)
      continue;
    std::string a = ExprEmitter::slot_name(static_cast<int>(s));
    for (const auto& [slot, with] : replace)
      if (slot == static_cast<int>(s))
        a = with;
    args += ", " + a;
  }
  return args;
}

} // namespace

std::optional<CudaPlan> single_block_plan(const Schedule& sc, std::string& source) {
  CudaLaunch launch{
      .kernel = str(kNamePrefix, "_block"), .block = kBlock, .grid = {}, .max_blocks = 1};
  const std::string fn = block_step_function(sc, launch);
  int64_t max_batch = 0;
  for (int64_t n = 1; n <= kMaxBatch; ++n) {
    if (launch.shared_bytes(n) > kSharedBudget || work_at(sc, n) > kWorkBudget)
      break;
    max_batch = n;
  }
  if (max_batch == 0)
    return std::nullopt;
  source +=
      "// The whole step in one block (batches up to " + std::to_string(max_batch) + ").\n" + fn;
  source += kernel_signature(launch.kernel, join_params(step_params(sc)), kBlock) +
            " {\n  kiln_block_step(" + step_args(sc, {}, "N") + ");\n}\n\n";
  CudaPlan plan;
  plan.kind = CudaPlan::Kind::SingleBlock;
  plan.max_batch = max_batch;
  plan.launches.push_back(launch);
  plan.summary = str("single block: the whole step (", sc.groups.size(),
                     " groups) in 1 kernel, scratch in shared memory");
  return plan;
}

void epoch_kernel(CudaKernel& k, const EpochSpec& spec, int64_t max_batch, std::string& source) {
  const Schedule& sc = k.schedule;
  k.epoch_kernel = str(kNamePrefix, "_epoch");
  k.epoch_block = kBlock;
  k.epoch_max_batch = max_batch;
  k.epoch_data = spec.data;
  k.epoch_params = {
      {"int", "n"}, {"int", "batch"}, {"int", "shuffle"}, {"unsigned long long", "seed"}};
  for (const auto& p : step_params(sc))
    if (p.second != "kiln_ws" && p.second != "N")
      k.epoch_params.push_back(p);
  CodeWriter w;
  w.line("int* perm = (int*)kiln_ews;");
  w.line("long long kiln_off = kiln_align256(4LL * n);");
  std::vector<std::pair<int, std::string>> buffers;
  for (size_t d = 0; d < spec.data.size(); ++d) {
    const int slot = static_cast<int>(slot_named(sc, Slot::Role::Input, spec.data[d]));
    const std::string t = c_type_of(sc.slots[static_cast<size_t>(slot)].type.dtype);
    const std::string row =
        std::to_string(sc.slots[static_cast<size_t>(slot)].type.shape.static_numel());
    k.epoch_params.push_back({"const " + t + "* __restrict__", "d" + std::to_string(d)});
    w.line(t + "* buf" + std::to_string(d) + " = (" + t + "*)(kiln_ews + kiln_off);");
    if (d + 1 < spec.data.size())
      w.line("kiln_off += kiln_align256((long long)sizeof(" + t + ") * batch * " + row + ");");
    buffers.emplace_back(slot, "buf" + std::to_string(d));
  }
  if (spec.data.empty())
    w.line("(void)kiln_off;");
  k.epoch_params.push_back({"char* __restrict__", "kiln_ews"});
  k.epoch_params.push_back({"double* __restrict__", "kiln_stats"});
  w.line("for (int i = (int)threadIdx.x; i < n; i += (int)blockDim.x) perm[i] = i;");
  w.line("__syncthreads();");
  w.open("if (shuffle && threadIdx.x == 0)");
  w.line("kiln_pcg32 rng = kiln_pcg32_seed(seed);");
  w.open("for (int i = n - 1; i > 0; --i)");
  w.line("const int j = (int)kiln_pcg32_below(&rng, (unsigned)(i + 1));");
  w.line("const int t = perm[i];");
  w.line("perm[i] = perm[j];");
  w.line("perm[j] = t;");
  w.close();
  w.close();
  w.line("__syncthreads();");
  w.open("for (int b0 = 0; b0 < n; b0 += batch)");
  w.line("const int nb = n - b0 < batch ? n - b0 : batch;");
  for (size_t d = 0; d < spec.data.size(); ++d) {
    const std::string row =
        std::to_string(sc.slots[static_cast<size_t>(buffers[d].first)].type.shape.static_numel());
    w.line(block_loop("e", "nb * " + row) + " buf" + std::to_string(d) + "[e] = d" +
           std::to_string(d) + "[perm[b0 + e / " + row + "] * " + row + " + e % " + row + "];");
  }
  w.line("__syncthreads();");
  w.line("kiln_block_step(" + step_args(sc, buffers, "nb") + ");");
  // The step ends with a barrier, and the next step writes its outputs only after the next
  // gather's barrier, so thread 0 reads this step's metrics in time.
  w.open("if (threadIdx.x == 0)");
  for (size_t m = 0; m < spec.metrics.size(); ++m)
    w.line("kiln_stats[" + std::to_string(m) + "] += (double)" +
           ExprEmitter::slot_name(static_cast<int>(metric_slot(sc, spec.metrics[m]))) +
           "[0] * (double)nb;");
  w.close();
  w.close();
  w.line("if (threadIdx.x == 0) kiln_stats[" + std::to_string(spec.metrics.size()) +
         "] += (double)n;");
  source += "// The fused epoch: shuffle, then every mini-batch through kiln_block_step.\n";
  source += kernel_signature(k.epoch_kernel, join_params(k.epoch_params), kBlock) + " {\n";
  const std::string body = w.str();
  for (size_t pos = 0; pos < body.size();) {
    const size_t next = body.find('\n', pos);
    source += "  " + body.substr(pos, next - pos) + "\n";
    pos = next + 1;
  }
  source += "}\n\n";
}

} // namespace kiln::codegen::cuda
