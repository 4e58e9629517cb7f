#include "codegen/cpu/row_block_step.h"

#include <algorithm>
#include <set>

#include "base/error.h"
#include "base/hash.h"
#include "codegen/code_writer.h"
#include "codegen/cpu/row_block_util.h"

namespace kiln::codegen {

namespace {

using row_block::identifiers;
using row_block::is_slot;

/** The parameter list and the argument list of a function running `text`. */
struct Params {
  std::string params = "long long N", args = "N";
};

// What outlined code takes from kiln_row_step: slots and the arrays that live across the loop
// (the results declare their row-major sums themselves).
bool slot_or_array(std::string_view id) {
  const RowBlockArray a = row_block_array(id).kind;
  return is_slot(id) || a == RowBlockArray::Acc || a == RowBlockArray::Bt;
}

// The parameters for the names in `text` that `outer` picks, in name order.
Params params_of(const std::string& text, bool (*outer)(std::string_view),
                 const std::function<std::string(const std::string&)>& param_type,
                 bool locals_allowed) {
  Params p;
  for (const std::string& id : identifiers(text, outer)) {
    const std::string type = param_type(id);
    if (type.empty()) {
      if (!locals_allowed)
        throw InternalError("[row_block] code outlined from the step names the row array " + id);
      continue;
    }
    p.params += ", " + type + " " + id;
    p.args += ", " + id;
  }
  return p;
}

} // namespace

std::vector<std::string> deferrable_pre(std::vector<std::string>& pre, const std::string& later) {
  auto slots = [](const std::string& text) { return identifiers(text, is_slot); };
  row_block::NameSet named = slots(later);
  std::vector<bool> defer(pre.size());
  for (size_t i = pre.size(); i-- > 0;) {
    const row_block::NameSet own = slots(pre[i]);
    defer[i] = std::none_of(own.begin(), own.end(),
                            [&](const std::string& id) { return named.count(id) > 0; });
    if (!defer[i])
      named.insert(own.begin(), own.end());
  }
  std::vector<std::string> kept, deferred;
  for (size_t i = 0; i < pre.size(); ++i)
    (defer[i] ? deferred : kept).push_back(pre[i]);
  pre = kept;
  return deferred;
}

std::string row_loop(int64_t rows, const std::string& body) {
  const std::string r = std::to_string(rows);
  return "// the rows, in blocks of " + r +
         "\n"
         "KILN_ROWS\n"
         "for (long long kiln_r0 = 0; kiln_r0 < N; kiln_r0 += " +
         r + ") {\n  const long long kiln_rows = N - kiln_r0 < " + r + " ? N - kiln_r0 : " + r +
         ";\n" + indented(body) + "}\n";
}

RowStep assemble_row_step(const RowStepText& t, bool split,
                          const std::function<std::string(const std::string&)>& param_type) {
  RowStep out;
  std::string before = t.pre + t.copies, results = t.results;
  if (split) {
    // The row arrays' pointers and the partial sums pass as arguments; the results' sums
    // (kiln_sums<g>) are declared in their own text.
    auto outline = [&](const std::string& what, const std::string& text) {
      if (text.empty())
        return std::string();
      const Params p = params_of(text, slot_or_array, param_type, false);
      const std::string name = "kiln_" + what + "_" + hash_hex128(text).substr(0, 12);
      const std::string signature = "extern \"C\" void " + name + "(" + p.params + ")";
      out.functions += signature + ";\n";
      out.second_unit += signature + " {\n  (void)N;\n" + indented(text) + "}\n\n";
      return name + "(" + p.args + ");\n";
    };
    before = outline("before", before);
    results = outline("results", results);
    if (!out.functions.empty())
      out.functions += "\n";
  }
  std::string loop, locals = t.locals;
  if (t.block_function) {
    // The row arrays are the block's; the rest it takes from kiln_row_step.
    const Params p = params_of(t.block, slot_or_array, param_type, true);
    const std::string rest = p.params.substr(std::string_view("long long N").size());
    out.functions += "__attribute__((noinline)) static void kiln_row_block(long long N, long long "
                     "kiln_r0, long long kiln_rows" +
                     rest + ") {\n  (void)N;\n" + indented(t.locals + t.block) + "}\n\n";
    loop = row_loop(t.rows, "kiln_row_block(N, kiln_r0, kiln_rows" + p.args.substr(1) + ");\n");
    locals.clear();
  } else {
    loop = row_loop(t.rows, t.block);
  }
  // The calls of the outlined ends name what their code names.
  const std::string text = before + loop + results;
  // The step takes every buffer it names as a __restrict parameter: LLVM 14 ignores restrict on
  // the step's local pointers and would guard each vectorized loop with alias checks and a
  // scalar copy of it. Not inlined: Clang would simplify it twice.
  const Params p = params_of(text, is_slot, param_type, true);
  out.functions +=
      "// The step: Pre groups and padded weights, the rows in blocks (Row groups and\n"
      "// partial sums), the sums' results with their epilogues, the Post groups.\n"
      "__attribute__((noinline)) static void kiln_row_step(" +
      p.params + ") {\n  (void)N;\n" + indented(t.setup + locals + text) + "}\n\n";
  out.call = "kiln_row_step(" + p.args + ");\n";
  return out;
}

} // namespace kiln::codegen
