// The text of <name>.cu: the CUDA renderer's kernels (internal linkage) and host code that
// launches their plans with the CUDA runtime API, behind the <name>_cuda_* entry points. The
// host code is the generated twin of runtime/cuda's CudaProgram: the first plan that serves the
// batch size and fits the device's shared memory runs, every scratch buffer lives in the
// caller's workspace.

#include "aot/aot_model.h"
#include "base/error.h"
#include "codegen/code_writer.h"

namespace kiln::aot::detail {

using codegen::CodeWriter;
using codegen::CudaKernel;
using codegen::CudaLaunch;
using codegen::CudaPlan;
using codegen::Extent;
using codegen::Slot;

namespace {

/** Device buffers are carved from the workspace at this alignment (cudaMalloc's). */
constexpr int64_t kAlign = 256;
/** Dynamic shared memory a kernel gets without opting in. */
constexpr int64_t kDefaultShared = 48 * 1024;

/** `fixed * N^batch_pow` as a C expression; `batch` spells N. */
std::string extent_expr(const Extent& e, const std::string& batch = "N") {
  std::string s = str(e.fixed, "LL");
  for (int i = 0; i < e.batch_pow; ++i)
    s += " * " + batch;
  return s;
}

std::string blocks_expr(const CudaLaunch& l) {
  std::string s = "1LL";
  for (const auto& [extent, per_block] : l.grid)
    s += str(" * ceil_div(", extent_expr(extent), ", ", per_block, "LL)");
  return str("clamp_blocks(", s, ", ", l.max_blocks, "LL)");
}

std::string shared_expr(const CudaLaunch& l) {
  std::string s = str(l.shared_fixed, "LL");
  for (const auto& [extent, bytes] : l.shared_terms)
    s += str(" + align16(", extent_expr(extent), " * ", bytes, "LL)");
  return s;
}

/** The kernels without the prelude (emitted once) and with internal linkage. */
std::string kernels_body(const CudaKernel& k) {
  std::string src = k.source;
  const std::string& prelude = codegen::cuda_prelude(false);
  const size_t at = src.find(prelude);
  KILN_ASSERT(at != std::string::npos, "[aot] CUDA module ", k.name,
              " does not contain the CUDA prelude");
  src.erase(at, prelude.size());
  const std::string global = "extern \"C\" __global__";
  size_t count = 0;
  for (size_t pos = src.find(global); pos != std::string::npos;
       pos = src.find(global, pos), ++count)
    src.replace(pos, global.size(), "static __global__");
  KILN_ASSERT(count > 0, "[aot] CUDA module ", k.name,
              " defines no extern \"C\" __global__ kernel");
  return src;
}

/** Bytes of every scratch slot for batch N, and the largest plan workspace. */
void size_functions(CodeWriter& w, const std::string& stem, const CudaKernel& k) {
  w.open("long long " + stem + "_scratch(long long N)");
  w.line("long long total = 0;");
  for (const Slot& s : k.schedule.slots)
    if (s.role == Slot::Role::Scratch)
      w.line(str("total += align256(", ir::dtype_bytes(s.type.dtype), "LL * ",
                 extent_expr(Extent::of(s.type.shape)), ");"));
  w.line("(void)N;");
  w.line("return total;");
  w.close();
  w.open("long long " + stem + "_plan_workspace(long long N)");
  w.line("long long most = 0;");
  for (const CudaPlan& p : k.plans) {
    if (p.ws_launch < 0)
      continue;
    const CudaLaunch& l = p.launches[static_cast<size_t>(p.ws_launch)];
    w.line(str("most = max_ll(most, ", blocks_expr(l), " * ", p.ws_block_bytes, "LL);"));
  }
  w.line("(void)N;");
  w.line("return most;");
  w.close();
}

/** `cudaError_t <stem>_run(...)`: the first plan that serves N and fits the device. */
void run_function(CodeWriter& w, const std::string& stem, const std::string& ns,
                  const CudaKernel& k) {
  w.open("cudaError_t " + stem +
         "_run(long long N, void* const* s, char* plan_ws, cudaStream_t stream)");
  w.line("const long long limit = shared_limit();");
  w.line("(void)limit;");
  for (const CudaPlan& p : k.plans) {
    w.line("// " + p.summary);
    w.open(p.max_batch > 0 ? str("if (N <= ", p.max_batch, "LL)") : std::string("if (true)"));
    std::string fits = "true";
    for (size_t i = 0; i < p.launches.size(); ++i) {
      w.line(str("const long long shared", i, " = ", shared_expr(p.launches[i]), ";"));
      fits += str(" && shared", i, " <= limit");
    }
    w.open("if (" + fits + ")");
    for (size_t i = 0; i < p.launches.size(); ++i) {
      const CudaLaunch& l = p.launches[i];
      const std::string fn = ns + "::" + l.kernel;
      w.line(str("if (shared", i, " > ", kDefaultShared, "LL) cudaFuncSetAttribute(", fn,
                 ", cudaFuncAttributeMaxDynamicSharedMemorySize, static_cast<int>(shared", i,
                 "));"));
      std::string args = "static_cast<int>(N)";
      for (size_t a = 1; a + 1 < k.step_params.size(); ++a) {
        std::string type = k.step_params[a].first;
        const size_t r = type.find(" __restrict__");
        if (r != std::string::npos)
          type.erase(r);
        args += str(", static_cast<", type, ">(s[", a - 1, "])");
      }
      w.line(str(fn, "<<<static_cast<unsigned>(", blocks_expr(l), "), ", l.block,
                 ", static_cast<size_t>(shared", i, "), stream>>>(", args, ", plan_ws);"));
    }
    w.line("return cudaGetLastError();");
    w.close();
    w.close();
  }
  w.line("return cudaErrorInvalidConfiguration; // no plan fits this device's shared memory");
  w.close();
}

/** The largest batch whose buffers all hold fewer than 2^31 elements (32-bit indices). */
int64_t max_batch(const CudaKernel& k) {
  int64_t row = 1;
  for (const Slot& s : k.schedule.slots)
    if (s.type.shape.has_batch())
      row = std::max(row, s.type.shape.static_numel());
  return ((int64_t{1} << 31) - 1) / row;
}

/** Carves the scratch slots and the plan workspace out of `ws`; returns the slot expressions. */
std::vector<std::string> carve(CodeWriter& w, const CudaKernel& k,
                               const std::vector<std::string>& named) {
  std::vector<std::string> slots;
  for (size_t i = 0; i < k.schedule.slots.size(); ++i) {
    const Slot& s = k.schedule.slots[i];
    if (!named[i].empty()) {
      slots.push_back(named[i]);
      continue;
    }
    w.line(str("void* const s", i, " = ws; // ", s.name, " ", s.type));
    w.line(str("ws += align256(", ir::dtype_bytes(s.type.dtype), "LL * ",
               extent_expr(Extent::of(s.type.shape), "n"), ");"));
    slots.push_back(str("s", i));
  }
  return slots;
}

void slot_array(CodeWriter& w, const std::vector<std::string>& slots) {
  std::string list;
  for (const std::string& s : slots)
    list += (list.empty() ? "" : ", ") + s;
  w.line("void* const slots[] = {" + list + "};");
}

/** The arguments every entry point checks first. */
std::string batch_check(const std::string& lo, const CudaKernel& k) {
  return str("n < ", lo, " || n > ", max_batch(k), "LL");
}

void forward_entry(CodeWriter& w, const AotModel& m, const std::string& N) {
  const CudaKernel& k = *m.cuda_forward;
  w.open("int " + m.name +
         "_cuda_forward(long long n, const float* x, float* y, const float* const* params, void* "
         "workspace, "
         "void* stream)");
  w.line("if (" + batch_check("0", k) +
         " || (n > 0 && (!x || !y)) || !workspace) return KILN_AOT_BAD_ARGUMENT;");
  w.line(
      "if ((reinterpret_cast<uintptr_t>(workspace) & 255u) != 0) return KILN_AOT_BAD_ALIGNMENT;");
  w.line("if (n == 0) return KILN_AOT_OK;");
  w.line("const float* p[" + N + "_NUM_PARAMS];");
  w.open("if (params)");
  w.line("for (int i = 0; i < " + N + "_NUM_PARAMS; ++i) p[i] = params[i];");
  if (m.baked) {
    w.reopen("else");
    w.line("if (baked_addresses(p) != cudaSuccess) return KILN_AOT_CUDA_ERROR;");
    w.close();
  } else {
    w.reopen("else");
    w.line("return KILN_AOT_NO_WEIGHTS;");
    w.close();
  }
  w.line("for (int i = 0; i < " + N + "_NUM_PARAMS; ++i)");
  w.line("  if (!p[i]) return KILN_AOT_BAD_ARGUMENT;");
  w.line("char* ws = static_cast<char*>(workspace);");
  std::vector<std::string> named;
  for (const Slot& s : k.schedule.slots) {
    const int pi = index_of(m.params, s.name);
    if (s.role == Slot::Role::Input && s.name == "y")
      named.push_back("const_cast<float*>(x)");
    else if (s.role == Slot::Role::Param && pi >= 0)
      named.push_back(str("const_cast<float*>(p[", pi, "])"));
    else if (s.role == Slot::Role::Output && s.name == "F")
      named.push_back("y");
    else if (s.role == Slot::Role::Scratch)
      named.push_back("");
    else
      KILN_ASSERT(false, "[aot] unexpected slot '", s.name, "' in the CUDA forward module");
  }
  slot_array(w, carve(w, k, named));
  w.line("const cudaError_t e = forward_run(n, slots, ws, static_cast<cudaStream_t>(stream));");
  w.line("return e == cudaSuccess ? KILN_AOT_OK : KILN_AOT_CUDA_ERROR;");
  w.close();
}

void train_entries(CodeWriter& w, const AotModel& m, const std::string& N) {
  const CudaKernel& k = *m.cuda_step;
  const std::string target = m.classification ? "const int32_t* labels" : "const float* target";
  w.open("int " + m.name + "_cuda_train_step(long long n, const float* x, " + target +
         ", float lr, float* const* params, float* const* optimizer_state, float* loss, void* "
         "workspace, void* stream)");
  w.line("if (" + batch_check("1", k) + " || !x || !" + (m.classification ? "labels" : "target") +
         " || !params || !optimizer_state || !workspace) return KILN_AOT_BAD_ARGUMENT;");
  w.line(
      "if ((reinterpret_cast<uintptr_t>(workspace) & 255u) != 0) return KILN_AOT_BAD_ALIGNMENT;");
  w.line("for (int i = 0; i < " + N + "_NUM_PARAMS; ++i)");
  w.line("  if (!params[i]) return KILN_AOT_BAD_ARGUMENT;");
  w.line("for (int i = 0; i < " + N + "_NUM_STATE; ++i)");
  w.line("  if (!optimizer_state[i]) return KILN_AOT_BAD_ARGUMENT;");
  w.line("const cudaStream_t st = static_cast<cudaStream_t>(stream);");
  w.line("char* ws = static_cast<char*>(workspace);");
  w.line("float* const lr_device = reinterpret_cast<float*>(ws);");
  w.line(str("ws += ", kAlign, ";"));
  w.line("float* const loss_device = loss ? loss : reinterpret_cast<float*>(ws);");
  w.line(str("ws += ", kAlign, ";"));
  w.line("kiln_aot_store<<<1, 1, 0, st>>>(lr_device, lr);");
  std::vector<std::string> named;
  for (const Slot& s : k.schedule.slots) {
    const int pi = index_of(m.params, s.name), si = index_of(m.state, s.name);
    if (s.role == Slot::Role::Input)
      named.push_back(s.name == "y"      ? "const_cast<float*>(x)"
                      : s.name == "lr"   ? "lr_device"
                      : m.classification ? "const_cast<int32_t*>(labels)"
                                         : "const_cast<float*>(target)");
    else if (s.role == Slot::Role::Param)
      named.push_back(pi >= 0 ? str("params[", pi, "]") : str("optimizer_state[", si, "]"));
    else if (s.role == Slot::Role::Output && s.name == "loss")
      named.push_back("loss_device");
    else
      named.push_back(""); // scratch, and updates the kernels copy back at the end
  }
  slot_array(w, carve(w, k, named));
  w.line("const cudaError_t e = step_run(n, slots, ws, st);");
  w.line("return e == cudaSuccess ? KILN_AOT_OK : KILN_AOT_CUDA_ERROR;");
  w.close();
  w.line("");
  w.open("int " + m.name +
         "_cuda_init_optimizer_state(float* const* optimizer_state, void* stream)");
  w.line("if (!optimizer_state) return KILN_AOT_BAD_ARGUMENT;");
  w.line("const cudaStream_t st = static_cast<cudaStream_t>(stream);");
  for (size_t i = 0; i < m.state.size(); ++i)
    w.line(str("kiln_aot_fill<<<", std::min<int64_t>((m.state[i].size + 255) / 256, 1024),
               ", 256, 0, st>>>(optimizer_state[", i, "], ", m.state[i].size, "LL, ",
               float_literal(static_cast<float>(m.state[i].init)), ");"));
  w.line("return cudaGetLastError() == cudaSuccess ? KILN_AOT_OK : KILN_AOT_CUDA_ERROR;");
  w.close();
}

constexpr const char* kHelpers = R"KILN(
// Host helpers (nvcc only: NVRTC compiles the kernels above and nothing else).
long long align16(long long b) { return (b + 15) & ~15LL; }
long long align256(long long b) { return (b + 255) & ~255LL; }
long long ceil_div(long long a, long long b) { return (a + b - 1) / b; }
long long clamp_blocks(long long b, long long most) { return b < 1 ? 1 : b > most ? most : b; }
long long max_ll(long long a, long long b) { return a > b ? a : b; }

/** The dynamic shared memory a block may opt into on the current device. */
long long shared_limit() {
  int device = 0, bytes = 48 * 1024;
  cudaGetDevice(&device);
  cudaDeviceGetAttribute(&bytes, cudaDevAttrMaxSharedMemoryPerBlockOptin, device);
  return bytes;
}
)KILN";

constexpr const char* kDeviceHelpers = R"KILN(
__global__ void kiln_aot_fill(float* p, long long n, float v) {
  for (long long i = blockIdx.x * (long long)blockDim.x + threadIdx.x; i < n; i += (long long)gridDim.x * blockDim.x)
    p[i] = v;
}
__global__ void kiln_aot_store(float* p, float v) { *p = v; }
)KILN";

} // namespace

std::string render_cuda_source(const AotModel& m) {
  KILN_ASSERT(m.cuda_forward, "[aot] ", m.name, " has no CUDA kernels");
  const std::string& n = m.name;
  const std::string N = macro_prefix(n);
  const bool train = m.cuda_step.has_value();

  CodeWriter w;
  w.line("// " + n + ".cu: generated by kiln ahead of time. Do not edit; regenerate it instead.");
  w.line("// kiln's CUDA kernels for this network; " + n +
         ".h documents the calls. Build it with nvcc");
  w.line("// together with " + n +
         ".cpp. Under NVRTC only the kernels compile: the host code needs nvcc.");
  w.line("#ifndef __CUDACC_RTC__");
  w.line("#include \"" + n + ".h\"");
  w.line("#endif");
  w.line("");
  // The prelude defines every math function; a module calls a few.
  w.line("#if defined(__NVCC_DIAG_PRAGMA_SUPPORT__)");
  w.line("#pragma nv_diag_suppress 177 // declared but never referenced");
  w.line("#endif");
  w.line("namespace {");
  std::string out = w.str() + codegen::cuda_prelude(false) + "\nnamespace forward_kernel {\n" +
                    kernels_body(*m.cuda_forward) + "} // namespace forward_kernel\n";
  if (train)
    out +=
        "\nnamespace step_kernel {\n" + kernels_body(*m.cuda_step) + "} // namespace step_kernel\n";
  out += kDeviceHelpers;

  CodeWriter t;
  if (m.baked)
    write_baked_arrays(t, m, "__device__ float");
  t.line("");
  t.line("} // namespace");
  t.line("");
  t.line("#ifndef __CUDACC_RTC__");
  t.line("namespace {");
  t.line(kHelpers);
  if (m.baked) {
    t.line("/** The device addresses of the baked weights. */");
    t.open("cudaError_t baked_addresses(const float** p)");
    for (size_t i = 0; i < m.params.size(); ++i) {
      t.line(str("void* a", i, " = nullptr;"));
      t.line(str("if (const cudaError_t e = cudaGetSymbolAddress(&a", i, ", kParam", i,
                 ")) return e;"));
      t.line(str("p[", i, "] = static_cast<const float*>(a", i, ");"));
    }
    t.line("return cudaSuccess;");
    t.close();
  }
  size_functions(t, "forward", *m.cuda_forward);
  run_function(t, "forward", "forward_kernel", *m.cuda_forward);
  if (train) {
    size_functions(t, "step", *m.cuda_step);
    run_function(t, "step", "step_kernel", *m.cuda_step);
  }
  t.line("");
  t.line("} // namespace");
  t.line("");
  t.line("extern \"C\" {");
  t.line("");
  t.open("size_t " + n + "_cuda_workspace_bytes(long long n)");
  t.line("if (n < 0) return 0;");
  t.line("long long bytes = forward_scratch(n) + align256(forward_plan_workspace(n));");
  if (train) {
    // Outputs the step copies back (neither loss nor a param) are carved like scratch.
    std::string extra;
    for (const Slot& s : m.cuda_step->schedule.slots)
      if (s.role == Slot::Role::Output && s.name != "loss")
        extra += str(" + align256(", ir::dtype_bytes(s.type.dtype), "LL * ",
                     extent_expr(Extent::of(s.type.shape)), ")");
    t.line(str("bytes = max_ll(bytes, ", 2 * kAlign,
               "LL + step_scratch(n) + align256(step_plan_workspace(n))", extra, ");"));
  }
  t.line("return static_cast<size_t>(max_ll(bytes, 256));");
  t.close();
  t.line("");
  forward_entry(t, m, N);
  t.line("");
  t.open("int " + n + "_cuda_init_params(float* const* params, void* stream)");
  if (m.baked) {
    t.line("if (!params) return KILN_AOT_BAD_ARGUMENT;");
    t.line("const float* p[" + N + "_NUM_PARAMS];");
    t.line("if (baked_addresses(p) != cudaSuccess) return KILN_AOT_CUDA_ERROR;");
    t.open("for (int i = 0; i < " + N + "_NUM_PARAMS; ++i)");
    t.line("if (!params[i]) return KILN_AOT_BAD_ARGUMENT;");
    t.line("const size_t bytes = sizeof(float) * static_cast<size_t>(" + n + "_params[i].size);");
    t.line("if (cudaMemcpyAsync(params[i], p[i], bytes, cudaMemcpyDeviceToDevice, "
           "static_cast<cudaStream_t>(stream)) !=");
    t.line("    cudaSuccess)");
    t.line("  return KILN_AOT_CUDA_ERROR;");
    t.close();
    t.line("return KILN_AOT_OK;");
  } else {
    t.line("(void)params;");
    t.line("(void)stream;");
    t.line("return KILN_AOT_NO_WEIGHTS;");
  }
  t.close();
  if (train) {
    t.line("");
    train_entries(t, m, N);
  }
  t.line("");
  t.line("} // extern \"C\"");
  t.line("");
  t.line("#endif // __CUDACC_RTC__");
  return out + t.str();
}

} // namespace kiln::aot::detail
