#include "codegen/cpu/evaluate.h"

#include "base/error.h"
#include "codegen/c_like.h"
#include "codegen/code_writer.h"
#include "codegen/cpu/epoch.h"

namespace kiln::codegen {

namespace {

/** A group-by-group step passes every row through its workspace: 256 rows keep it in L2. */
constexpr int64_t kGroupBlock = 256;

} // namespace

int64_t evaluate_block(const CpuKernel& k) {
  return k.row_block > 0 ? int64_t{1} << 40 : kGroupBlock;
}

std::string evaluate_function(const CpuKernel& k, const EpochSpec& spec) {
  const Schedule& sc = k.schedule;
  const std::string block = std::to_string(evaluate_block(k)) + "LL";
  CodeWriter w;
  w.open("extern \"C\" void " + k.evaluate_name +
         "(long long n, void* const* data, void* const* slots, void* workspace, double* stats)");
  w.line("void* s[" + std::to_string(sc.slots.size()) + "];");
  w.line("for (int i = 0; i < " + std::to_string(sc.slots.size()) + "; ++i) s[i] = slots[i];");
  w.open("for (long long b0 = 0; b0 < n; b0 += " + block + ")");
  w.line("const long long nb = n - b0 < " + block + " ? n - b0 : " + block + ";");
  for (size_t d = 0; d < spec.data.size(); ++d) {
    const size_t slot = slot_named(sc, Slot::Role::Input, spec.data[d], "evaluate", "graph");
    const Slot& sl = sc.slots[slot];
    if (!sl.type.shape.has_batch() || sl.type.shape[0] != ir::kBatch)
      throw Error(str("[evaluate] data input '", spec.data[d], "' must have rows, got ", sl.type));
    const std::string t = c_type_of(sl.type.dtype);
    w.line("s[" + std::to_string(slot) + "] = (void*)((const " + t + "*)data[" + std::to_string(d) +
           "] + b0 * " + std::to_string(sl.type.shape.static_numel()) + ");");
  }
  w.line("kiln_run(nb, s, workspace);");
  emit_metric_sums(w, sc, spec, "evaluate", "graph");
  w.close();
  w.line("stats[" + std::to_string(spec.metrics.size()) + "] += (double)n;");
  w.close();
  return w.str();
}

} // namespace kiln::codegen
