// The per-group matmul kernel: C = op(A) op(B) in 64 x 64 tiles of C per block, staged through
// shared memory 16 deep, each of the 256 threads holding a 4 x 4 sub-tile in registers. The
// finished tile goes through shared memory once more, so that the group's epilogue roots (bias,
// activation, derivative, optimizer update) run on it with coalesced loads and stores, from one
// copy of their code: C itself is never written and re-read.

#include "base/error.h"
#include "codegen/cuda/emitter.h"
#include "codegen/cuda/kernels.h"

namespace kiln::codegen::cuda {

namespace {

constexpr int kTile = 64;           // rows and columns of C per block
constexpr int kDepth = 16;          // depth of one shared-memory stage
constexpr int kSub = 4;             // rows and columns of C per thread
constexpr int kSide = kTile / kSub; // threads along each side of the tile (16 x 16 = 256)
constexpr int64_t kSmallDepth = 8;  // products this shallow are one dot product per thread

} // namespace

CudaLaunch matmul_kernel(const Schedule& sc, size_t gi, std::string& source) {
  const ir::Graph& g = sc.graph;
  const Group& grp = sc.groups[gi];
  const ir::NodeId m = grp.roots[0];
  const ir::Node& n = g.node(m);
  const ir::NodeId a = n.inputs[0], b = n.inputs[1];
  const bool ta = n.attrs.i("ta") != 0, tb = n.attrs.i("tb") != 0;
  const int64_t rows = n.type.shape[0], cols = n.type.shape[1],
                depth = g.node(a).type.shape[ta ? 0 : 1];
  const std::string t = c_type_of(n.type.dtype), zero = c_literal(0, n.type.dtype);
  const std::string name = str(kNamePrefix, "_g", gi);

  CudaEmitter em(sc);
  CodeWriter& w = em.w();
  ExprEmitter& e = em.e();
  w.line(em.title(grp));
  CudaLaunch launch{.kernel = name, .block = kBlock};
  if (depth != ir::kBatch && depth <= kSmallDepth) {
    w.open("for (int f = (int)(blockIdx.x * " + std::to_string(kBlock) + "u + threadIdx.x); f < " +
           numel_expr(n.type.shape.dims()) + "; f += (int)(gridDim.x * " + std::to_string(kBlock) +
           "u))");
    em.element(grp, CudaEmitter::decompose(n.type.shape.dims(), "f"));
    w.close();
    launch.grid = {{Extent::of(n.type.shape), kBlock}};
  } else {
    const std::string R = c_dim(rows), C = c_dim(cols), K = c_dim(depth);
    const std::string pad = std::to_string(kTile + 1);
    // One buffer: the A and B stages during the product, then the finished tile.
    w.line("__shared__ " + t + " kiln_tile[" + std::to_string(kTile * (kTile + 1)) + "];");
    w.line(t + " (*kiln_as)[" + pad + "] = (" + t + " (*)[" + pad + "])kiln_tile;");
    w.line(t + " (*kiln_bs)[" + pad + "] = (" + t + " (*)[" + pad + "])(kiln_tile + " +
           std::to_string(kDepth * (kTile + 1)) + ");");
    w.line("const int kiln_tiles_n = (" + C + " + " + std::to_string(kTile - 1) + ") / " +
           std::to_string(kTile) + ";");
    w.line("const int kiln_tiles = ((" + R + " + " + std::to_string(kTile - 1) + ") / " +
           std::to_string(kTile) + ") * kiln_tiles_n;");
    w.line("const int tx = (int)threadIdx.x % " + std::to_string(kSide) +
           ", ty = (int)threadIdx.x / " + std::to_string(kSide) + ";");
    w.open("for (int tile = (int)blockIdx.x; tile < kiln_tiles; tile += (int)gridDim.x)");
    w.line("const int row0 = (tile / kiln_tiles_n) * " + std::to_string(kTile) +
           ", col0 = (tile % kiln_tiles_n) * " + std::to_string(kTile) + ";");
    w.line(t + " acc[" + std::to_string(kSub) + "][" + std::to_string(kSub) + "];");
    w.line("#pragma unroll");
    w.open("for (int u = 0; u < " + std::to_string(kSub) + "; ++u)");
    w.line("#pragma unroll");
    w.line("for (int v = 0; v < " + std::to_string(kSub) + "; ++v) acc[u][v] = " + zero + ";");
    w.close();
    w.open("for (int k0 = 0; k0 < " + K + "; k0 += " + std::to_string(kDepth) + ")");
    // Each thread stages 4 elements of each operand; consecutive threads read consecutive
    // addresses of the operand's row-major layout.
    w.open("for (int l = 0; l < " + std::to_string(kTile * kDepth / kBlock) + "; ++l)");
    w.line("const int q = (int)threadIdx.x + " + std::to_string(kBlock) + " * l;");
    auto stage = [&](const char* buf, bool k_fastest, ir::NodeId x, bool x_rows_first,
                     const std::string& base, const std::string& limit) {
      // k_fastest: the operand's memory order runs along k, so k is the fast index of q.
      const std::string kk = k_fastest ? "(q % " + std::to_string(kDepth) + ")"
                                       : "(q / " + std::to_string(kTile) + ")";
      const std::string mm = k_fastest ? "(q / " + std::to_string(kDepth) + ")"
                                       : "(q % " + std::to_string(kTile) + ")";
      w.open("");
      w.line("const int kk = " + kk + ", mm = " + mm + ", i = " + base + " + mm, k = k0 + kk;");
      w.line(t + " v = " + zero + ";");
      w.open("if (i < " + limit + " && k < " + K + ")");
      e.push_scope();
      w.line("v = " + e.value(x, x_rows_first ? Index{"i", "k"} : Index{"k", "i"}) + ";");
      e.pop_scope();
      w.close();
      w.line(std::string(buf) + "[kk][mm] = v;");
      w.close();
    };
    stage("kiln_as", !ta, a, !ta, "row0", R);
    stage("kiln_bs", tb, b, tb, "col0", C);
    w.close();
    w.line("__syncthreads();");
    w.line("#pragma unroll");
    w.open("for (int kk = 0; kk < " + std::to_string(kDepth) + "; ++kk)");
    w.line(t + " x[" + std::to_string(kSub) + "], y[" + std::to_string(kSub) + "];");
    w.line("#pragma unroll");
    w.line("for (int u = 0; u < " + std::to_string(kSub) + "; ++u) x[u] = kiln_as[kk][ty + " +
           std::to_string(kSide) + " * u];");
    w.line("#pragma unroll");
    w.line("for (int v = 0; v < " + std::to_string(kSub) + "; ++v) y[v] = kiln_bs[kk][tx + " +
           std::to_string(kSide) + " * v];");
    w.line("#pragma unroll");
    w.open("for (int u = 0; u < " + std::to_string(kSub) + "; ++u)");
    w.line("#pragma unroll");
    w.line("for (int v = 0; v < " + std::to_string(kSub) + "; ++v) acc[u][v] += x[u] * y[v];");
    w.close();
    w.close();
    w.line("__syncthreads();");
    w.close();
    // The tile goes to shared memory, then the epilogue walks it with consecutive threads on
    // consecutive columns.
    w.line("#pragma unroll");
    w.open("for (int u = 0; u < " + std::to_string(kSub) + "; ++u)");
    w.line("#pragma unroll");
    w.line("for (int v = 0; v < " + std::to_string(kSub) + "; ++v) kiln_tile[(ty + " +
           std::to_string(kSide) + " * u) * " + pad + " + tx + " + std::to_string(kSide) +
           " * v] = acc[u][v];");
    w.close();
    w.line("__syncthreads();");
    w.line("#pragma unroll 1");
    w.open("for (int e = (int)threadIdx.x; e < " + std::to_string(kTile * kTile) +
           "; e += " + std::to_string(kBlock) + ")");
    w.line("const int i = row0 + e / " + std::to_string(kTile) + ", j = col0 + e % " +
           std::to_string(kTile) + ";");
    w.open("if (i < " + R + " && j < " + C + ")");
    e.push_scope();
    const Index at{"i", "j"};
    const std::string v = "kiln_tile[(e / " + std::to_string(kTile) + ") * " + pad + " + e % " +
                          std::to_string(kTile) + "]";
    em.finish_root(grp, m, at, v);
    e.pop_scope();
    w.close();
    w.close();
    w.line("__syncthreads();");
    w.close();
    launch.grid = {{Extent::of(ir::Shape{rows}), kTile}, {Extent::of(ir::Shape{cols}), kTile}};
  }
  launch.max_blocks = 65535;
  source +=
      kernel_signature(name, join_params(step_params(sc)), kBlock) + " {\n" + w.str() + "}\n\n";
  return launch;
}

} // namespace kiln::codegen::cuda
