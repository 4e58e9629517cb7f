// Assembling the row-block step (codegen/cpu/row_block_step.h): which Pre groups may wait for
// the loop, and the step as one function or split into two translation units.

#include <catch2/catch.hpp>

#include "base/error.h"
#include "codegen/cpu/row_block_step.h"
#include "tests/support/text.h"

using namespace kiln;
using namespace kiln::codegen;

namespace {

using kiln::test::count;

std::string param_type(const std::string& id) {
  return id == "b9" ? "" : "float* __restrict"; // b9: a row array of the block
}

RowStepText step_text() {
  RowStepText t;
  t.setup = "float kiln_acc2[16];\nfloat kiln_bt1[16];\n";
  t.locals = "float b9[16] = {};\n";
  t.pre = "b3[0] = (float)N;\n";
  t.copies = "copy(kiln_bt1, b4);\n";
  t.rows = 4;
  t.block = "b9[0] = b0[kiln_r0] * kiln_bt1[0] + b3[0];\nkiln_acc2[0] += b9[kiln_rows - 1];\n";
  t.results = "b5[0] -= kiln_acc2[0] * b6[0];\n";
  return t;
}

} // namespace

TEST_CASE("Pre groups that nothing up to the loop's end reads may run after it") {
  // b3 feeds the loop; b7 feeds b3's group (kept, so b7's group stays); b8 and b11 only feed
  // the results, and the group of b11 reads the deferred b8: both wait, in order.
  std::vector<std::string> pre = {"b7[0] = 2;\n", "b8[0] = kiln_pow(b2[0], 0.9f);\n",
                                  "b3[0] = b7[0] * N;\n", "b11[0] = b8[0] + 1;\n"};
  const std::vector<std::string> deferred = deferrable_pre(pre, "b9[r] = b0[r] * b3[0];\n");
  CHECK(pre == std::vector<std::string>{"b7[0] = 2;\n", "b3[0] = b7[0] * N;\n"});
  CHECK(deferred ==
        std::vector<std::string>{"b8[0] = kiln_pow(b2[0], 0.9f);\n", "b11[0] = b8[0] + 1;\n"});
  // A group whose output a later kept group reads stays before the loop; a group that reads
  // what the loop writes does too.
  std::vector<std::string> chained = {"b1[0] = 1;\n", "b2[0] = b1[0];\n"};
  CHECK(deferrable_pre(chained, "b0[0] = b2[0];\n").empty());
  CHECK(chained.size() == 2);
  std::vector<std::string> reads_loop = {"b4[0] = b5[0];\n"};
  CHECK(deferrable_pre(reads_loop, "b5[0] = 3;\n").empty());
}

TEST_CASE("the row-block step renders whole or with its ends in a second unit") {
  const RowStepText t = step_text();
  const RowStep whole = assemble_row_step(t, false, param_type);
  CHECK(whole.second_unit.empty());
  CHECK(whole.call == "kiln_row_step(N, b0, b3, b4, b5, b6);\n");
  CHECK(whole.functions.find("static void kiln_row_step(long long N, float* __restrict b0, "
                             "float* __restrict b3, float* __restrict b4, float* __restrict b5, "
                             "float* __restrict b6) {") != std::string::npos);
  // In order: setup, locals, Pre groups, copies, the loop, the results.
  const std::string& f = whole.functions;
  CHECK(f.find("kiln_acc2[16]") < f.find("float b9[16]"));
  CHECK(f.find("float b9[16]") < f.find("b3[0] = (float)N"));
  CHECK(f.find("b3[0] = (float)N") < f.find("copy(kiln_bt1, b4)"));
  CHECK(f.find("copy(kiln_bt1, b4)") < f.find("kiln_r0 < N; kiln_r0 += 4"));
  CHECK(f.find("kiln_r0 < N; kiln_r0 += 4") < f.find("b9[0] = b0[kiln_r0]"));
  CHECK(f.find("b9[0] = b0[kiln_r0]") < f.find("b5[0] -="));
  CHECK(f.find("kiln_row_block") == std::string::npos);

  const RowStep split = assemble_row_step(t, true, param_type);
  CHECK(split.call == whole.call);
  // The second unit defines the two ends, which take N, the slots and arrays they name.
  CHECK(count(split.second_unit, "extern \"C\" void kiln_before_") == 1);
  CHECK(count(split.second_unit, "extern \"C\" void kiln_results_") == 1);
  CHECK(split.second_unit.find("(long long N, float* __restrict b3, float* __restrict b4, "
                               "float* __restrict kiln_bt1) {") != std::string::npos);
  CHECK(split.second_unit.find("(long long N, float* __restrict b5, float* __restrict b6, "
                               "float* __restrict kiln_acc2) {") != std::string::npos);
  CHECK(split.second_unit.find("b3[0] = (float)N") != std::string::npos);
  CHECK(split.second_unit.find("b5[0] -=") != std::string::npos);
  // The first declares them and calls them around the loop; the arrays stay its own.
  const std::string& g = split.functions;
  CHECK(count(g, "extern \"C\" void kiln_before_") == 1);
  CHECK(g.find("b3[0] = (float)N") == std::string::npos);
  CHECK(g.find("b5[0] -=") == std::string::npos);
  CHECK(g.find("(N, b3, b4, kiln_bt1);") < g.find("b9[0] = b0[kiln_r0]"));
  CHECK(g.find("b9[0] = b0[kiln_r0]") < g.find("(N, b5, b6, kiln_acc2);"));
  CHECK(g.find("float kiln_acc2[16];") != std::string::npos);
  // The ends are named after their code: equal code, equal names.
  CHECK(assemble_row_step(t, true, param_type).second_unit == split.second_unit);

  // Outlined code may not name the block's row arrays.
  RowStepText bad = t;
  bad.results += "b5[0] += b9[0];\n";
  CHECK_THROWS_AS(assemble_row_step(bad, true, param_type), InternalError);
  CHECK_NOTHROW(assemble_row_step(bad, false, param_type));
}

TEST_CASE("the row-block step may run each block as a call of its own") {
  RowStepText t = step_text();
  t.block_function = true;
  for (bool split : {false, true}) {
    INFO((split ? "split" : "whole"));
    const RowStep s = assemble_row_step(t, split, param_type);
    CHECK(s.call == "kiln_row_step(N, b0, b3, b4, b5, b6);\n");
    const std::string& f = s.functions;
    // The block takes its rows and what it names from the step; its row arrays are its own.
    const size_t block = f.find("static void kiln_row_block(long long N, long long kiln_r0, long "
                                "long kiln_rows, float* __restrict b0, float* __restrict b3, "
                                "float* __restrict kiln_acc2, float* __restrict kiln_bt1) {");
    const size_t step = f.find("static void kiln_row_step(");
    REQUIRE(block != std::string::npos);
    REQUIRE(step != std::string::npos);
    CHECK(block < f.find("float b9[16] = {};"));
    CHECK(f.find("float b9[16] = {};") < f.find("b9[0] = b0[kiln_r0]"));
    CHECK(f.find("b9[0] = b0[kiln_r0]") < step);
    CHECK(count(f, "float b9[16]") == 1);
    CHECK(f.find("kiln_acc2[16]") > step);
    // The step loops over the blocks, the last one short.
    CHECK(f.find("for (long long kiln_r0 = 0; kiln_r0 < N; kiln_r0 += 4) {\n    const long long "
                 "kiln_rows = N - kiln_r0 < 4 ? N - kiln_r0 : 4;\n    kiln_row_block(N, kiln_r0, "
                 "kiln_rows, b0, b3, kiln_acc2, kiln_bt1);\n  }") > step);
    CHECK(s.second_unit.empty() != split);
  }
}
