// The chunked plan: MLP training steps at any batch size, fused in the style of tiny-cuda-nn's
// fully fused MLPs (the phases are defined in cuda_chunk_analysis.h).
//
// - Pre groups run first, as the per-group plan's kernels.
// - One chunk kernel walks chunks of R rows per block: every Row group in order (forward
//   layers, loss gradient, backward layers), with the chunk's rows of every stored row value
//   in shared memory and each layer's weights staged there before its product; then the
//   chunk's contribution to every Reduce group (weight gradients A^T B, bias gradients, the
//   loss) is added to the block's own partial sums in kiln_ws. No atomics: each block owns
//   its partials, so the result does not depend on how blocks are scheduled.
// - Wave kernels sum each Reduce group's partials over the blocks and run its epilogue (the
//   optimizer update) and the Post groups; a new wave starts where a group reads a result of
//   the current one.
// - The output copies and copy-backs of the per-group plan run last.

#include <functional>

#include "base/error.h"
#include "codegen/cuda/chunk_analysis.h"
#include "codegen/cuda/emitter.h"
#include "codegen/cuda/kernels.h"

namespace kiln::codegen::cuda {

namespace {

using ir::Node;
using ir::NodeId;

constexpr int64_t kChunkBlocks = 512;
/** Reductions to this many outputs with this many elements per row take the whole block. */
constexpr int64_t kBlockReduceOutputs = 4;
constexpr int64_t kBlockReduceRow = 8;

std::string indent(const std::string& text, const std::string& pad) {
  std::string out;
  for (size_t pos = 0; pos < text.size();) {
    const size_t next = text.find('\n', pos);
    out += pad + text.substr(pos, next - pos) + "\n";
    pos = next + 1;
  }
  return out;
}

std::string partial_name(size_t gi) {
  return "kiln_p" + std::to_string(gi);
}

/** The shared buffer that Row matmuls stage their B operand of type `t` in. */
std::string stage_name(ir::DType t) {
  std::string s = "kiln_stage_" + c_type_of(t);
  for (char& c : s)
    c = c == ' ' ? '_' : c;
  return s;
}

/** A Row matmul [rows, cols] = A [rows, depth] B, B given transposed when tb. */
struct RowProduct {
  const Node& n;
  NodeId a, b;
  bool tb;
  int64_t depth, cols;
  RowProduct(const Schedule& sc, const Group& grp)
      : n(sc.graph.node(grp.roots[0])), a(n.inputs[0]), b(n.inputs[1]), tb(n.attrs.i("tb") != 0),
        depth(sc.graph.node(a).type.shape[1]), cols(n.type.shape[1]) {}
};

/** One Row matmul on the chunk: B staged in shared memory when the analysis says so. */
void row_matmul(CudaEmitter& em, const Group& grp, bool staged) {
  const Schedule& sc = em.schedule();
  CodeWriter& w = em.w();
  ExprEmitter& e = em.e();
  const auto [n, a, b, tb, depth, cols] = RowProduct(sc, grp);
  const std::string t = c_type_of(n.type.dtype), K = std::to_string(depth),
                    C = std::to_string(cols);
  const std::string pitch = std::to_string(cols + 1);
  if (staged) {
    // Consecutive threads read consecutive addresses of B as it lies in memory.
    w.open(block_loop("q", std::to_string(depth * cols)));
    e.push_scope();
    const std::string k = tb ? "(q % " + K + ")" : "(q / " + C + ")",
                      j = tb ? "(q / " + K + ")" : "(q % " + C + ")";
    w.line(stage_name(n.type.dtype) + "[" + k + " * " + pitch + " + " + j +
           "] = " + e.value(b, tb ? Index{j, k} : Index{k, j}) + ";");
    e.pop_scope();
    w.close();
    w.line("__syncthreads();");
  }
  w.open(block_loop("f", "rows * " + C));
  e.push_scope();
  const Index idx = CudaEmitter::decompose(n.type.shape.dims(), "f", "rows");
  const std::string acc = e.fresh("acc");
  w.line(t + " " + acc + " = " + c_literal(0, n.type.dtype) + ";");
  w.open("for (int k = 0; k < " + K + "; ++k)");
  e.push_scope();
  const std::string bv = staged ? stage_name(n.type.dtype) + "[k * " + pitch + " + " + idx[1] + "]"
                                : e.value(b, tb ? Index{idx[1], "k"} : Index{"k", idx[1]});
  w.line(acc + " += " + e.value(a, Index{idx[0], "k"}) + " * " + bv + ";");
  e.pop_scope();
  w.close();
  em.finish_root(grp, grp.roots[0], idx, acc);
  e.pop_scope();
  w.close();
}

/**
 * One Row matmul on tensor cores (TF32 inputs, f32 sums). Slice by slice of the depth, A and B
 * go to the zero-padded stage of tensor_core_stage and each warp adds their product to its
 * 16 x 16 tiles (kiln_tc_mma, cuda_prelude.cpp) in registers; then the tiles overwrite the
 * stage, and the group's epilogue reads the product from there as row_matmul reads its sums.
 */
void tensor_core_matmul(CudaEmitter& em, const Group& grp, int64_t chunk_rows) {
  const Schedule& sc = em.schedule();
  CodeWriter& w = em.w();
  ExprEmitter& e = em.e();
  const auto [n, a, b, tb, depth, cols] = RowProduct(sc, grp);
  const TensorCoreStage st = tensor_core_stage(chunk_rows, depth, cols);
  auto num = [](int64_t v) { return std::to_string(v); };
  const std::string K = num(depth), C = num(cols), S = num(st.slice), C16 = num(st.cols16),
                    tpw = num(st.tiles_per_warp), tiles = num(st.tiles),
                    tiles_n = num(st.cols16 / 16), warps = num(kBlock / 32);
  // The loop over this warp's tiles; `body` sees `t` and `tile`.
  auto for_tiles = [&](const std::function<void()>& body) {
    w.line("#pragma unroll");
    w.open("for (int t = 0; t < " + tpw + "; ++t)");
    w.line("const int tile = kiln_warp + t * " + warps + ";");
    w.line("if (tile >= " + tiles + ") break;");
    body();
    w.close();
  };
  w.open(""); // the stage's names are the group's own
  e.push_scope();
  w.line("float* kiln_ta = (float*)kiln_smem;");
  w.line("float* kiln_tb = kiln_ta + " + num(st.b_offset) + ";");
  w.line("const int kiln_warp = (int)threadIdx.x / 32;");
  w.line("kiln_tc_acc kiln_acc[" + tpw + "];");
  for_tiles([&] { w.line("kiln_tc_zero(kiln_acc[t]);"); });
  w.open("for (int kb = 0; kb < " + num(st.depth8) + "; kb += " + S + ")");
  // A's slice row by row; rows past the chunk and depth past K are zeros.
  w.open(block_loop("q", num(st.rows16 * st.slice)));
  e.push_scope();
  w.line("const int r = q / " + S + ", kk = q % " + S + ", k = kb + kk;");
  w.line("float v = 0.0f;");
  w.open("if (r < rows && k < " + K + ")");
  e.push_scope();
  w.line("v = " + e.value(a, Index{"r", "k"}) + ";");
  e.pop_scope();
  w.close();
  w.line("kiln_ta[r * " + num(st.lda) + " + kk] = v;");
  e.pop_scope();
  w.close();
  // B's slice as [slice, cols]; consecutive threads read consecutive addresses of B.
  w.open(block_loop("q", num(st.slice * st.cols16)));
  e.push_scope();
  w.line(tb ? "const int kk = q % " + S + ", j = q / " + S + ", k = kb + kk;"
            : "const int kk = q / " + C16 + ", j = q % " + C16 + ", k = kb + kk;");
  w.line("float v = 0.0f;");
  w.open("if (k < " + K + " && j < " + C + ")");
  e.push_scope();
  w.line("v = " + e.value(b, tb ? Index{"j", "k"} : Index{"k", "j"}) + ";");
  e.pop_scope();
  w.close();
  w.line("kiln_tb[kk * " + num(st.ldb) + " + j] = v;");
  e.pop_scope();
  w.close();
  w.line("__syncthreads();");
  for_tiles([&] {
    w.line("const float* ta = kiln_ta + (tile / " + tiles_n + ") * " + num(16 * st.lda) + ";");
    w.line("const float* tbb = kiln_tb + (tile % " + tiles_n + ") * 16;");
    w.open("for (int k0 = 0; k0 < " + S + "; k0 += 8)");
    w.line("kiln_tc_mma(kiln_acc[t], ta + k0, " + num(st.lda) + ", tbb + k0 * " + num(st.ldb) +
           ", " + num(st.ldb) + ");");
    w.close();
  });
  w.line("__syncthreads();");
  w.close();
  for_tiles([&] {
    w.line("kiln_tc_store(kiln_ta + (tile / " + tiles_n + ") * " + num(16 * st.ldc) +
           " + (tile % " + tiles_n + ") * 16, " + num(st.ldc) + ", kiln_acc[t]);");
  });
  w.line("__syncthreads();");
  w.open(block_loop("f", "rows * " + C));
  e.push_scope();
  const Index idx = CudaEmitter::decompose(n.type.shape.dims(), "f", "rows");
  const std::string acc = e.fresh("acc");
  w.line("const float " + acc + " = kiln_ta[" + idx[0] + " * " + num(st.ldc) + " + " + idx[1] +
         "];");
  em.finish_root(grp, grp.roots[0], idx, acc);
  e.pop_scope();
  w.close();
  e.pop_scope();
  w.close();
}

/** Adds the chunk's share of Reduce group `gi` to the block's partial sums. */
void reduce_partial(CudaEmitter& em, size_t gi) {
  const Schedule& sc = em.schedule();
  const Group& grp = sc.groups[gi];
  CodeWriter& w = em.w();
  ExprEmitter& e = em.e();
  const Node& n = sc.graph.node(grp.roots[0]);
  const std::string t = c_type_of(n.type.dtype), p = partial_name(gi);
  const std::string outs = std::to_string(grp.domain.static_numel());
  w.line(em.title(grp) + " (partial sums)");
  if (grp.kind == Group::Kind::MatMul) {
    // A^T B over the chunk's rows: A is [N, m], B is [N, k].
    const int64_t cols = n.type.shape[1];
    w.open(block_loop("o", outs));
    e.push_scope();
    const std::string i = "(o / " + std::to_string(cols) + ")",
                      j = "(o % " + std::to_string(cols) + ")";
    const std::string acc = e.fresh("acc");
    w.line(t + " " + acc + " = " + c_literal(0, n.type.dtype) + ";");
    w.open("for (int r = 0; r < rows; ++r)");
    e.push_scope();
    w.line(acc + " += " + e.value(n.inputs[0], Index{"r", i}) + " * " +
           e.value(n.inputs[1], Index{"r", j}) + ";");
    e.pop_scope();
    w.close();
    w.line(p + "[o] += " + acc + ";");
    e.pop_scope();
    w.close();
    return;
  }
  const std::string count = em.reduced_count(grp, "rows");
  const Extent in = Extent::of(sc.graph.node(n.inputs[0]).type.shape);
  if (grp.domain.static_numel() <= kBlockReduceOutputs &&
      in.fixed / grp.domain.static_numel() >= kBlockReduceRow) {
    w.open("for (int o = 0; o < " + outs + "; ++o)");
    e.push_scope();
    const Index out = CudaEmitter::decompose(grp.domain.dims(), "o");
    const std::string part = e.fresh("part");
    w.line(t + " " + part + " = " + reduce_identity(n) + ";");
    w.open(block_loop("r", count));
    e.push_scope();
    w.line(reduce_combine(n, part,
                          e.value(n.inputs[0], em.reduce_input_index(grp, out, "r", "rows"))));
    e.pop_scope();
    w.close();
    const std::string total = e.fresh("total");
    w.line("const " + t + " " + total + " = kiln_block_reduce(" + part + ", " +
           em.reduction_buffer(n.type.dtype) + ", " + reduce_combiner(n) + ");");
    w.line("if (threadIdx.x == 0) " + reduce_combine(n, p + "[o]", total));
    e.pop_scope();
    w.close();
    return;
  }
  w.open(block_loop("o", outs));
  e.push_scope();
  const Index out = CudaEmitter::decompose(grp.domain.dims(), "o");
  const std::string acc = e.fresh("acc");
  w.line(t + " " + acc + " = " + reduce_identity(n) + ";");
  w.open("for (int r = 0; r < " + count + "; ++r)");
  e.push_scope();
  w.line(
      reduce_combine(n, acc, e.value(n.inputs[0], em.reduce_input_index(grp, out, "r", "rows"))));
  e.pop_scope();
  w.close();
  w.line(reduce_combine(n, p + "[o]", acc));
  e.pop_scope();
  w.close();
}

std::string chunk_kernel(const Schedule& sc, const ChunkAnalysis& a, const std::string& name) {
  CudaEmitter em(sc);
  CodeWriter& w = em.w();
  std::set<ir::DType> stage_types;
  for (size_t gi = 0; gi < sc.groups.size(); ++gi) {
    const Group& grp = sc.groups[gi];
    if (a.phase[gi] == Phase::Reduce) {
      reduce_partial(em, gi);
      continue;
    }
    if (a.phase[gi] != Phase::Row)
      continue;
    w.line(em.title(grp));
    if (grp.kind == Group::Kind::MatMul && a.tensor_core[gi]) {
      tensor_core_matmul(em, grp, a.rows);
    } else if (grp.kind == Group::Kind::MatMul) {
      row_matmul(em, grp, a.staged[gi]);
      if (a.staged[gi])
        stage_types.insert(sc.graph.node(grp.roots[0]).type.dtype);
    } else {
      w.open(block_loop("f", numel_expr(grp.domain.dims(), "rows")));
      em.element(grp, CudaEmitter::decompose(grp.domain.dims(), "f", "rows"));
      w.close();
    }
    w.line("__syncthreads();");
  }
  const std::string body = w.str();
  std::vector<std::pair<std::string, std::string>> params = step_params(sc);
  std::string decls;
  for (size_t s = 0; s < sc.slots.size(); ++s) {
    auto& [type, pname] = params[s + 1];
    const std::string b = ExprEmitter::slot_name(static_cast<int>(s));
    pname = "kiln_g" + std::to_string(s);
    if (!uses_slot(body, static_cast<int>(s)))
      continue;
    const Slot& slot = sc.slots[s];
    const std::string t = c_type_of(slot.type.dtype);
    if (a.shared_offset[s] >= 0)
      decls += t + "* " + b + " = (" + t + "*)(kiln_smem + " + std::to_string(a.shared_offset[s]) +
               ");\n";
    else if (slot.type.shape.rank() >= 1 && slot.type.shape[0] == ir::kBatch)
      decls += type + " " + b + " = " + pname + " + r0 * " +
               std::to_string(slot.type.shape.static_numel()) + ";\n";
    else
      decls += type + " " + b + " = " + pname + ";\n";
  }
  std::string out = kernel_signature(name, join_params(params), kBlock) + " {\n";
  out += indent(em.shared_declarations(), "  ");
  for (ir::DType t : stage_types)
    out += "  " + c_type_of(t) + "* " + stage_name(t) + " = (" + c_type_of(t) + "*)kiln_smem;\n";
  for (size_t gi = 0; gi < sc.groups.size(); ++gi) {
    if (a.phase[gi] != Phase::Reduce)
      continue;
    const ir::DType dt = sc.graph.node(sc.groups[gi].roots[0]).type.dtype;
    const std::string t = c_type_of(dt), p = partial_name(gi);
    out += "  " + t + "* " + p + " = (" + t + "*)(kiln_ws + (long long)blockIdx.x * " +
           std::to_string(a.block_bytes) + "LL + " + std::to_string(a.partial_offset[gi]) + ");\n";
    out += "  " + block_loop("o", std::to_string(sc.groups[gi].domain.static_numel())) + " " + p +
           "[o] = " + reduce_identity(sc.graph.node(sc.groups[gi].roots[0])) + ";\n";
  }
  out += "  __syncthreads();\n";
  out += "  for (int r0 = (int)blockIdx.x * " + std::to_string(a.rows) +
         "; r0 < N; r0 += (int)gridDim.x * " + std::to_string(a.rows) + ") {\n";
  out += "    const int rows = N - r0 < " + std::to_string(a.rows) +
         " ? N - r0 : " + std::to_string(a.rows) + ";\n";
  out += indent(decls, "    ") + indent(body, "    ");
  out += "    __syncthreads();\n  }\n}\n\n";
  return out;
}

/** Splits the finalize-phase groups into waves: a group reading the current wave starts a new one.
 */
std::vector<std::vector<size_t>> waves(const Schedule& sc, const ChunkAnalysis& a) {
  std::vector<std::vector<size_t>> out;
  std::set<int> current;
  for (size_t gi = 0; gi < sc.groups.size(); ++gi) {
    if (a.phase[gi] != Phase::Reduce && a.phase[gi] != Phase::Post)
      continue;
    bool reads_current = false;
    for (NodeId r : sc.groups[gi].roots)
      for (NodeId in : sc.graph.node(r).inputs) {
        std::vector<NodeId> todo{in};
        while (!todo.empty()) {
          const NodeId x = todo.back();
          todo.pop_back();
          if (sc.storage[x] == Storage::Root && sc.group_of[x] != static_cast<int>(gi))
            reads_current = reads_current || current.count(sc.group_of[x]) > 0;
          else if (sc.storage[x] == Storage::Inline)
            todo.insert(todo.end(), sc.graph.node(x).inputs.begin(), sc.graph.node(x).inputs.end());
        }
      }
    if (out.empty() || reads_current) {
      out.emplace_back();
      current.clear();
    }
    out.back().push_back(gi);
    current.insert(static_cast<int>(gi));
  }
  return out;
}

CudaLaunch wave_kernel(const Schedule& sc, const ChunkAnalysis& a,
                       const std::vector<size_t>& groups, const std::string& name,
                       std::string& source) {
  CudaEmitter em(sc);
  CodeWriter& w = em.w();
  ExprEmitter& e = em.e();
  int64_t begin = 0;
  bool sums = false;
  for (size_t gi : groups)
    sums = sums || a.phase[gi] == Phase::Reduce;
  // The chunk kernel's block count at this N: how many partial sums each Reduce group has.
  if (sums)
    w.line("const int kiln_blocks = (N + " + std::to_string(a.rows - 1) + ") / " +
           std::to_string(a.rows) + " < " + std::to_string(kChunkBlocks) + " ? (N + " +
           std::to_string(a.rows - 1) + ") / " + std::to_string(a.rows) + " : " +
           std::to_string(kChunkBlocks) + ";");
  int64_t total = 0;
  for (size_t gi : groups)
    total += sc.groups[gi].domain.static_numel();
  w.open("for (int f = (int)(blockIdx.x * " + std::to_string(kBlock) + "u + threadIdx.x); f < " +
         std::to_string(total) + "; f += (int)(gridDim.x * " + std::to_string(kBlock) + "u))");
  for (size_t k = 0; k < groups.size(); ++k) {
    const Group& grp = sc.groups[groups[k]];
    const int64_t end = begin + grp.domain.static_numel();
    const std::string cond = "if (f < " + std::to_string(end) + ")";
    if (k == 0)
      w.open(groups.size() == 1 ? "" : cond);
    else
      w.reopen(k + 1 == groups.size() ? "else" : "else " + cond);
    w.line(em.title(grp));
    const std::string o = begin == 0 ? "f" : "(f - " + std::to_string(begin) + ")";
    const Index idx = CudaEmitter::decompose(grp.domain.dims(), o);
    if (a.phase[groups[k]] == Phase::Reduce) {
      const Node& n = sc.graph.node(grp.roots[0]);
      const std::string t = c_type_of(n.type.dtype);
      e.push_scope();
      const std::string acc = e.fresh("acc");
      w.line(t + " " + acc + " = " + reduce_identity(n) + ";");
      w.open("for (int b = 0; b < kiln_blocks; ++b)");
      w.line(reduce_combine(n, acc,
                            "((const " + t + "*)(kiln_ws + (long long)b * " +
                                std::to_string(a.block_bytes) + "LL + " +
                                std::to_string(a.partial_offset[groups[k]]) + "))[" + o + "]"));
      w.close();
      const std::string v = e.fresh("t" + std::to_string(grp.roots[0]));
      w.line("const " + t + " " + v + " = " +
             (grp.kind == Group::Kind::Reduce ? em.finish(grp, acc, "N") : acc) + ";");
      em.finish_root(grp, grp.roots[0], idx, v);
      e.pop_scope();
    } else {
      em.element(grp, idx);
    }
    begin = end;
  }
  w.close();
  w.close();
  source += kernel_signature(name, join_params(step_params(sc)), kBlock) + " {\n" +
            indent(em.shared_declarations() + w.str(), "  ") + "}\n\n";
  return CudaLaunch{
      .kernel = name, .block = kBlock, .grid = {{Extent{total, 0}, kBlock}}, .max_blocks = 65535};
}

} // namespace

std::optional<CudaPlan> chunked_plan(const Schedule& sc, const CudaPlan& per_group,
                                     std::string& source, bool tf32) {
  const std::optional<ChunkAnalysis> a = analyze_chunks(sc, tf32);
  if (!a)
    return std::nullopt;
  CudaPlan plan;
  plan.kind = CudaPlan::Kind::Chunked;
  int pre = 0, row = 0, red = 0, post = 0, tensor_core = 0;
  for (size_t gi = 0; gi < sc.groups.size(); ++gi) {
    switch (a->phase[gi]) {
    case Phase::Pre:
      plan.launches.push_back(per_group.launches[gi]);
      ++pre;
      break;
    case Phase::Row:
      ++row;
      tensor_core += a->tensor_core[gi] ? 1 : 0;
      break;
    case Phase::Reduce:
      ++red;
      break;
    case Phase::Post:
      ++post;
      break;
    }
  }
  const std::string chunk = str(kNamePrefix, "_chunk");
  source += "// The chunk kernel: " + std::to_string(row) + " row groups on " +
            std::to_string(a->rows) + " rows at a time, partial sums of " + std::to_string(red) +
            " reductions.\n";
  source += chunk_kernel(sc, *a, chunk);
  CudaLaunch cl{.kernel = chunk,
                .block = kBlock,
                .grid = {{Extent{1, 1}, a->rows}},
                .max_blocks = kChunkBlocks};
  cl.shared_fixed = a->shared_bytes;
  plan.ws_launch = static_cast<int>(plan.launches.size());
  plan.ws_block_bytes = a->block_bytes;
  plan.launches.push_back(cl);
  const std::vector<std::vector<size_t>> ws = waves(sc, *a);
  for (size_t k = 0; k < ws.size(); ++k)
    plan.launches.push_back(wave_kernel(sc, *a, ws[k], str(kNamePrefix, "_wave", k), source));
  for (size_t c = sc.groups.size(); c < per_group.launches.size(); ++c)
    plan.launches.push_back(per_group.launches[c]);
  for (size_t s = 0; s < sc.slots.size(); ++s)
    if (sc.slots[s].role == Slot::Role::Scratch && a->shared_offset[s] < 0)
      plan.device_scratch.push_back(static_cast<int>(s));
  plan.summary =
      str("chunked: ", pre, " pre-group kernels, 1 chunk kernel (", row, " row groups",
          tensor_core > 0 ? str(", ", tensor_core, " products on TF32 tensor cores") : "", ", ",
          red, " reductions, ", a->rows, " rows per chunk), ", ws.size(), " wave kernels (", post,
          " post groups), ", per_group.launches.size() - sc.groups.size(), " copies");
  return plan;
}

} // namespace kiln::codegen::cuda
