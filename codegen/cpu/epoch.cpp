#include "codegen/cpu/epoch.h"

#include "base/error.h"
#include "codegen/c_like.h"

namespace kiln::codegen {

void emit_metric_sums(CodeWriter& w, const Schedule& sc, const EpochSpec& spec, const char* op,
                      const char* graph) {
  for (size_t m = 0; m < spec.metrics.size(); ++m) {
    const size_t slot = metric_slot(sc, spec.metrics[m], op, graph);
    w.line("stats[" + std::to_string(m) + "] += (double)((const " +
           c_type_of(sc.slots[slot].type.dtype) + "*)s[" + std::to_string(slot) +
           "])[0] * (double)nb;");
  }
}

std::string epoch_function(const CpuKernel& k, const EpochSpec& spec) {
  const Schedule& sc = k.schedule;
  CodeWriter w;
  // The loop runs once per epoch around hundreds of steps, so its own loops gain nothing from
  // vectorization or unrolling; left to Clang, it vectorized and interleaved the index, copy and
  // gather loops, which doubled the function's compile time (W1's Trainer step kernel: the epoch
  // took 36 of 140 ms, 18 ms with its loops kept scalar).
  w.line("#ifdef __clang__");
  w.line("#define KILN_EPOCH_LOOP _Pragma(\"clang loop vectorize(disable) interleave(disable) "
         "unroll(disable)\")");
  w.line("#else");
  w.line("#define KILN_EPOCH_LOOP");
  w.line("#endif");
  w.open("extern \"C\" void " + k.epoch_name +
         "(long long n, long long batch, int shuffle, unsigned long long seed, void* const* data, "
         "void* const* slots, void* workspace, double* stats)");
  w.line("char* ws = (char*)workspace;");
  w.line("void* step_ws = ws;");
  w.line("ws += kiln_align64(kiln_step_workspace(batch));");
  w.line("long long* perm = (long long*)ws;");
  w.line("ws += kiln_align64((long long)sizeof(long long) * n);");
  w.line("void* s[" + std::to_string(sc.slots.size()) + "];");
  w.line("__builtin_memcpy(s, slots, sizeof(s));");
  std::vector<size_t> data_slots;
  for (size_t d = 0; d < spec.data.size(); ++d) {
    const size_t slot = slot_named(sc, Slot::Role::Input, spec.data[d]);
    data_slots.push_back(slot);
    const std::string t = c_type_of(sc.slots[slot].type.dtype);
    w.line(t + "* buf" + std::to_string(d) + " = (" + t + "*)ws;");
    w.line("ws += kiln_align64((long long)sizeof(" + t + ") * batch * " +
           std::to_string(sc.slots[slot].type.shape.static_numel()) + ");");
    w.line("s[" + std::to_string(slot) + "] = buf" + std::to_string(d) + ";");
  }
  w.line("KILN_EPOCH_LOOP");
  w.line("for (long long i = 0; i < n; ++i) perm[i] = i;");
  w.open("if (shuffle)");
  w.line("kiln_pcg32 rng = kiln_pcg32_seed(seed);");
  w.line("KILN_EPOCH_LOOP");
  w.open("for (long long i = n - 1; i > 0; --i)");
  w.line("const long long j = (long long)kiln_pcg32_below(&rng, (unsigned)(i + 1));");
  w.line("const long long t = perm[i]; perm[i] = perm[j]; perm[j] = t;");
  w.close();
  w.close();
  w.line("KILN_EPOCH_LOOP");
  w.open("for (long long b0 = 0; b0 < n; b0 += batch)");
  w.line("const long long nb = n - b0 < batch ? n - b0 : batch;");
  w.line("KILN_EPOCH_LOOP");
  w.open("for (long long r = 0; r < nb; ++r)");
  w.line("const long long src = perm[b0 + r];");
  for (size_t d = 0; d < spec.data.size(); ++d) {
    const Slot& sl = sc.slots[data_slots[d]];
    const std::string t = c_type_of(sl.type.dtype),
                      row = std::to_string(sl.type.shape.static_numel());
    w.line("__builtin_memcpy(buf" + std::to_string(d) + " + r * " + row + ", (const " + t +
           "*)data[" + std::to_string(d) + "] + src * " + row + ", sizeof(" + t + ") * " + row +
           ");");
  }
  w.close();
  w.line("kiln_run(nb, s, step_ws);");
  emit_metric_sums(w, sc, spec, "epoch", "step graph");
  w.close();
  w.line("stats[" + std::to_string(spec.metrics.size()) + "] += (double)n;");
  w.close();
  return w.str();
}

} // namespace kiln::codegen
