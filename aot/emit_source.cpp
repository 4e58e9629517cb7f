// The text of <name>.cpp: the CPU renderer's kernels, unchanged but for linkage, wrapped by
// the typed entry points of <name>.h. It includes only <name>.h.

#include <cstdio>

#include "aot/aot_model.h"
#include "base/error.h"
#include "codegen/code_writer.h"

namespace kiln::aot::detail {

using codegen::CodeWriter;
using codegen::CpuKernel;
using codegen::Slot;

std::string float_literal(float v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.9g", static_cast<double>(v));
  std::string s = buf;
  if (s.find_first_of(".e") == std::string::npos)
    s += ".";
  return s + "f";
}

std::string macro_prefix(const std::string& name) {
  std::string u = name;
  for (char& c : u)
    if (c >= 'a' && c <= 'z')
      c = static_cast<char>(c - 'a' + 'A');
  return u;
}

int index_of(const std::vector<TensorInfo>& ts, const std::string& name) {
  for (size_t i = 0; i < ts.size(); ++i)
    if (ts[i].name == name)
      return static_cast<int>(i);
  return -1;
}

void write_baked_arrays(codegen::CodeWriter& w, const AotModel& m, const std::string& type) {
  for (size_t i = 0; i < m.params.size(); ++i) {
    const TensorInfo& p = m.params[i];
    w.line(str("// ", p.name));
    w.line(str(type, " kParam", i, "[", p.size, "] = {"));
    for (size_t k = 0; k < p.baked.size(); k += 8) {
      std::string row = "   ";
      for (size_t j = k; j < std::min(k + 8, p.baked.size()); ++j)
        row += " " + float_literal(p.baked[j]) + ",";
      w.line(row);
    }
    w.line("};");
  }
}

namespace {

/**
 * The kernel's source without the prelude (emitted once for both kernels: its include guard
 * would hide a second copy) and with its entry point made internal, so that two models, or
 * two kernels with equal content, never clash at link time.
 */
std::string kernel_body(const CpuKernel& k) {
  std::string src = k.source;
  const std::string& prelude = codegen::cpu_prelude();
  const size_t at = src.find(prelude);
  KILN_ASSERT(at != std::string::npos, "[aot] kernel ", k.name,
              " does not contain the CPU prelude");
  src.erase(at, prelude.size());
  const std::string entry = "extern \"C\" void " + k.name + "(";
  const size_t e = src.find(entry);
  KILN_ASSERT(e != std::string::npos && src.find(entry, e + 1) == std::string::npos,
              "[aot] kernel ", k.name, " does not define its entry point exactly once");
  src.replace(e, entry.size(), "static void " + k.name + "(");
  return src;
}

/** `long long <fn>(long long N)`: the sum of aligned (per_batch * N + fixed) byte counts. */
void sizes_function(CodeWriter& w, const std::string& fn,
                    const std::vector<codegen::ScratchSize>& sizes) {
  w.open("long long " + fn + "(long long N)");
  w.line("long long total = 0;");
  for (const codegen::ScratchSize& s : sizes)
    w.line(str("total += align64(", s.per_batch, "LL * N + ", s.fixed, "LL);"));
  w.line("(void)N;");
  w.line("return total;");
  w.close();
}

/** The step's outputs other than the loss (updates the kernel copies back at the end). */
std::vector<codegen::ScratchSize> extra_outputs(const CpuKernel& k) {
  std::vector<codegen::ScratchSize> out;
  for (const Slot& s : k.schedule.slots) {
    if (s.role != Slot::Role::Output || s.name == "loss")
      continue;
    const int64_t bytes = s.type.shape.static_numel() * ir::dtype_bytes(s.type.dtype);
    out.push_back(s.type.shape.has_batch() ? codegen::ScratchSize{bytes, 0}
                                           : codegen::ScratchSize{0, bytes});
  }
  return out;
}

void check_float(const Slot& s) {
  KILN_ASSERT(s.type.dtype == ir::DType::F32, "[aot] slot '", s.name, "' is ", s.type,
              "; the ABI passes f32");
}

/** The slot array of the forward kernel. */
std::vector<std::string> forward_slots(const AotModel& m) {
  std::vector<std::string> out;
  for (const Slot& s : m.forward.schedule.slots) {
    const int p = index_of(m.params, s.name);
    if (s.role == Slot::Role::Scratch) {
      out.push_back("nullptr");
      continue;
    }
    check_float(s);
    if (s.role == Slot::Role::Input && s.name == "y")
      out.push_back("const_cast<float*>(x)");
    else if (s.role == Slot::Role::Param && p >= 0)
      out.push_back(str("const_cast<float*>(p[", p, "])"));
    else if (s.role == Slot::Role::Output && s.name == "F")
      out.push_back("y");
    else
      KILN_ASSERT(false, "[aot] unexpected slot '", s.name, "' in the forward kernel");
  }
  return out;
}

/** The slot array of the step kernel; writes the carving of its extra outputs into `w`. */
std::vector<std::string> step_slots(const AotModel& m, CodeWriter& w) {
  std::vector<std::string> out;
  bool carving = false;
  const auto& slots = m.step->schedule.slots;
  for (size_t i = 0; i < slots.size(); ++i) {
    const Slot& s = slots[i];
    const int p = index_of(m.params, s.name), st = index_of(m.state, s.name);
    if (s.role == Slot::Role::Scratch) {
      out.push_back("nullptr");
    } else if (s.role == Slot::Role::Input && s.name == "c" && m.classification) {
      KILN_ASSERT(s.type.dtype == ir::DType::I32, "[aot] labels are ", s.type);
      out.push_back("const_cast<int32_t*>(labels)");
    } else if (s.role == Slot::Role::Input) {
      check_float(s);
      KILN_ASSERT(s.name == "y" || s.name == "c" || s.name == "lr", "[aot] unexpected input '",
                  s.name, "'");
      out.push_back(s.name == "y"   ? "const_cast<float*>(x)"
                    : s.name == "c" ? "const_cast<float*>(target)"
                                    : "&lr");
    } else if (s.role == Slot::Role::Param) {
      check_float(s);
      KILN_ASSERT(p >= 0 || st >= 0, "[aot] unexpected param '", s.name, "' in the step kernel");
      out.push_back(p >= 0 ? str("params[", p, "]") : str("optimizer_state[", st, "]"));
    } else if (s.name == "loss") {
      check_float(s);
      out.push_back("&loss_value");
    } else {
      if (!carving)
        w.line("char* extra = static_cast<char*>(workspace) + align64(step_workspace(n));");
      carving = true;
      const std::string o = str("out", i);
      const int64_t bytes = s.type.shape.static_numel() * ir::dtype_bytes(s.type.dtype);
      w.line(str("void* ", o, " = extra; // ", s.name));
      w.line(str("extra += align64(", bytes, "LL", s.type.shape.has_batch() ? " * n" : "", ");"));
      out.push_back(o);
    }
  }
  return out;
}

/** `void* slots[] = {...};`, one slot per line with the kernel's name and type for it. */
void slot_array(CodeWriter& w, const CpuKernel& k, const std::vector<std::string>& slots) {
  w.open("void* const slots[] =");
  for (size_t i = 0; i < slots.size(); ++i) {
    const Slot& s = k.schedule.slots[i];
    w.line(str(slots[i], ", // ", s.role == Slot::Role::Scratch ? "scratch " : "", s.name, " ",
               s.type));
  }
  w.close(";");
}

void baked_arrays(CodeWriter& w, const AotModel& m) {
  write_baked_arrays(w, m, "const float");
  std::string table = "const float* const kBaked[] = {";
  for (size_t i = 0; i < m.params.size(); ++i)
    table += str(i ? ", " : "", "kParam", i);
  w.line(table + "};");
}

/** The dims of every tensor of `ts` back to back (and a 0, so that the array is never empty). */
void dims_array(CodeWriter& w, const std::string& symbol, const std::vector<TensorInfo>& ts) {
  std::string dims;
  for (const TensorInfo& t : ts)
    for (const int64_t d : t.dims)
      dims += str(d, ", ");
  w.line("const long long " + symbol + "[] = {" + dims + "0};");
}

void tensor_table(CodeWriter& w, const std::string& symbol, const std::string& size_macro,
                  const std::string& dims_symbol, const std::vector<TensorInfo>& ts) {
  w.open("const kiln_aot_tensor " + symbol + "[" + size_macro + "] =");
  size_t at = 0;
  for (const TensorInfo& t : ts) {
    w.line(str("{\"", t.name, "\", ", t.size, ", ", t.dims.size(), ", ", dims_symbol, " + ", at,
               "},"));
    at += t.dims.size();
  }
  w.close(";");
}

// Flush-to-zero and denormals-are-zero while a kernel runs, as runtime/cpu/denormals.h does for the
// JIT: the same numbers, and no 5x slowdown once training drives values toward zero. Plain calls,
// not a guard object: a destructor would make the object file need the C++ runtime's exception
// personality, and C programs could not link it. (The kernels never throw.)
constexpr const char* kDenormals = R"KILN(#if defined(__SSE__)
unsigned denormals_are_zero() {
  const unsigned saved = __builtin_ia32_stmxcsr();
  __builtin_ia32_ldmxcsr(saved | 0x8040u);
  return saved;
}
void restore_denormals(unsigned saved) { __builtin_ia32_ldmxcsr(saved); }
#else
unsigned denormals_are_zero() { return 0; }
void restore_denormals(unsigned) {}
#endif
)KILN";

void forward_function(CodeWriter& w, const AotModel& m, const std::string& N) {
  const std::string& n = m.name;
  w.open("int " + n +
         "_forward(long long n, const float* x, float* y, const float* const* params, void* "
         "workspace)");
  w.line("if (n < 0 || (n > 0 && (!x || !y)) || !workspace) return KILN_AOT_BAD_ARGUMENT;");
  w.line("if (!aligned64(workspace)) return KILN_AOT_BAD_ALIGNMENT;");
  if (!m.baked)
    w.line("if (!params) return KILN_AOT_NO_WEIGHTS;");
  w.line(m.baked ? "const float* const* p = params ? params : kBaked;"
                 : "const float* const* p = params;");
  w.line("for (int i = 0; i < " + N + "_NUM_PARAMS; ++i)");
  w.line("  if (!p[i]) return KILN_AOT_BAD_ARGUMENT;");
  slot_array(w, m.forward, forward_slots(m));
  w.line("const unsigned csr = denormals_are_zero();");
  w.line("forward_kernel::" + m.forward.name + "(n, slots, workspace);");
  w.line("restore_denormals(csr);");
  w.line("return KILN_AOT_OK;");
  w.close();
}

void train_functions(CodeWriter& w, const AotModel& m, const std::string& N) {
  const std::string& n = m.name;
  const std::string target = m.classification ? "const int32_t* labels" : "const float* target";
  w.open("int " + n + "_train_step(long long n, const float* x, " + target +
         ", float lr, float* const* params, float* const* optimizer_state, float* loss, void* "
         "workspace)");
  w.line(std::string("if (n < 1 || !x || !") + (m.classification ? "labels" : "target") +
         " || !params || !optimizer_state || !workspace) return KILN_AOT_BAD_ARGUMENT;");
  w.line("if (!aligned64(workspace)) return KILN_AOT_BAD_ALIGNMENT;");
  w.line("for (int i = 0; i < " + N + "_NUM_PARAMS; ++i)");
  w.line("  if (!params[i]) return KILN_AOT_BAD_ARGUMENT;");
  w.line("for (int i = 0; i < " + N + "_NUM_STATE; ++i)");
  w.line("  if (!optimizer_state[i]) return KILN_AOT_BAD_ARGUMENT;");
  if (m.classification) {
    // Out-of-range labels would index outside the network's output.
    w.line("for (long long i = 0; i < n; ++i)");
    w.line("  if (labels[i] < 0 || labels[i] >= " + N + "_NUM_CLASSES) return KILN_AOT_BAD_LABEL;");
  }
  w.line("float loss_value = 0.0f;");
  const std::vector<std::string> slots = step_slots(m, w);
  slot_array(w, *m.step, slots);
  w.line("const unsigned csr = denormals_are_zero();");
  w.line("step_kernel::" + m.step->name + "(n, slots, workspace);");
  w.line("restore_denormals(csr);");
  w.line("if (loss) *loss = loss_value;");
  w.line("return KILN_AOT_OK;");
  w.close();
  w.line("");
  w.open("void " + n + "_init_optimizer_state(float* const* optimizer_state)");
  for (size_t i = 0; i < m.state.size(); ++i)
    w.line(str("for (long long k = 0; k < ", m.state[i].size, "; ++k) optimizer_state[", i,
               "][k] = ", float_literal(static_cast<float>(m.state[i].init)), ";"));
  w.close();
}

} // namespace

std::string render_source(const AotModel& m) {
  const std::string& n = m.name;
  const std::string N = macro_prefix(n);
  const bool train = m.step.has_value();

  CodeWriter w;
  w.line("// " + n + ".cpp: generated by kiln ahead of time. Do not edit; regenerate it instead.");
  w.line("// The kernels are kiln's CPU kernels for this network; " + n +
         ".h documents the calls.");
  w.line("#include \"" + n + ".h\"");
  w.line("");
  w.line("namespace {");
  w.line("");
  // Reported at the inlined call, so ignored for the whole file: the kernels ask clang to
  // vectorize every inner loop, and where it cannot, that is no fault of the user's build.
  w.line("#if defined(__clang__)");
  w.line("#pragma clang diagnostic ignored \"-Wpass-failed\"");
  w.line("#endif");
  // The prelude defines every math function; a kernel calls a few (clang -Wall names the rest).
  w.line("#if defined(__GNUC__)");
  w.line("#pragma GCC diagnostic push");
  w.line("#pragma GCC diagnostic ignored \"-Wunused-function\"");
  w.line("#endif");
  std::string out = w.str() + codegen::cpu_prelude() + "\nnamespace forward_kernel {\n" +
                    kernel_body(m.forward) + "} // namespace forward_kernel\n";
  if (train)
    out += "\nnamespace step_kernel {\n" + kernel_body(*m.step) + "} // namespace step_kernel\n";
  out += "#if defined(__GNUC__)\n#pragma GCC diagnostic pop\n#endif\n";

  CodeWriter t;
  t.line("");
  t.line("long long align64(long long bytes) { return (bytes + 63) & ~63LL; }");
  t.line("bool aligned64(const void* p) { return (reinterpret_cast<uintptr_t>(p) & 63u) == 0; }");
  t.line("");
  sizes_function(t, "forward_workspace", m.forward.scratch);
  if (train) {
    sizes_function(t, "step_workspace", m.step->scratch);
    sizes_function(t, "step_outputs", extra_outputs(*m.step));
  }
  t.line("");
  t.line(kDenormals);
  dims_array(t, "kParamDims", m.params);
  if (train)
    dims_array(t, "kStateDims", m.state);
  if (m.baked)
    baked_arrays(t, m);
  t.line("");
  t.line("} // namespace");
  t.line("");
  t.line("extern \"C\" {");
  t.line("");
  tensor_table(t, n + "_params", N + "_NUM_PARAMS", "kParamDims", m.params);
  if (train)
    tensor_table(t, n + "_state", N + "_NUM_STATE", "kStateDims", m.state);
  t.line("");
  t.open("size_t " + n + "_workspace_bytes(long long n)");
  t.line("if (n < 0) return 0;");
  t.line("long long bytes = forward_workspace(n);");
  if (train) {
    t.line("const long long step = align64(step_workspace(n)) + step_outputs(n);");
    t.line("if (step > bytes) bytes = step;");
  }
  t.line("return static_cast<size_t>(bytes < 64 ? 64 : align64(bytes));");
  t.close();
  t.line("");
  forward_function(t, m, N);
  t.line("");
  t.open("int " + n + "_init_params(float* const* params)");
  if (m.baked) {
    t.line("if (!params) return KILN_AOT_BAD_ARGUMENT;");
    t.line("for (int i = 0; i < " + N + "_NUM_PARAMS; ++i)");
    t.line("  if (!params[i]) return KILN_AOT_BAD_ARGUMENT;");
    t.line("for (int i = 0; i < " + N + "_NUM_PARAMS; ++i)");
    t.line("  for (long long k = 0; k < " + n +
           "_params[i].size; ++k) params[i][k] = kBaked[i][k];");
    t.line("return KILN_AOT_OK;");
  } else {
    t.line("(void)params;");
    t.line("return KILN_AOT_NO_WEIGHTS;");
  }
  t.close();
  if (train) {
    t.line("");
    train_functions(t, m, N);
  }
  t.line("");
  t.line("} // extern \"C\"");
  return out + t.str();
}

} // namespace kiln::aot::detail
