// Repeated loop nests become one shared function; the kernels stay equal to the interpreter.

#include <catch2/catch.hpp>

#include "base/error.h"
#include "codegen/share_groups.h"
#include "codegen/split_units.h"
#include "frontend/kiln.h"
#include "ir/autodiff.h"
#include "ir/passes.h"
#include "runtime/executable.h"
#include "tests/support/compare.h"
#include "tests/support/text.h"

using namespace kiln;

namespace {

using kiln::test::count;
std::string type_of(const std::string&) {
  return "float* __restrict";
}
} // namespace

TEST_CASE("blocks equal up to names become one function called at each place") {
  const std::vector<std::string> blocks = {
      "// layer 1\nfor (long long i = 0; i < N; ++i) {\n  const float t5 = kiln_tanh(b3[i]);\n  "
      "b7[i] = t5;\n}\n",
      "// unique\nb9[0] = 1.0f;\n",
      "// layer 2\nfor (long long i_1 = 0; i_1 < N; ++i_1) {\n  const float t8 = "
      "kiln_tanh(b7[i_1]);\n  b8[i_1] = t8;\n}\n",
  };
  const codegen::SharedGroups s = codegen::share_repeated_groups(blocks, type_of);
  CHECK(count(s.functions, "static void kiln_group_") == 1);
  CHECK(count(s.functions, "kiln_tanh(P1[V0])") == 1);
  CHECK(count(s.body, "kiln_group_") == 2);
  CHECK(s.body.find("(N, b3, b7);") != std::string::npos);
  CHECK(s.body.find("(N, b7, b8);") != std::string::npos);
  CHECK(s.body.find("b9[0] = 1.0f;") != std::string::npos); // a block that occurs once stays
  CHECK(s.body.find("// layer 2") != std::string::npos);    // comments stay at the call site
}

TEST_CASE("preprocessor lines, strings and attributes are copied, never renamed") {
  const std::string body = "#if defined(abc)\ntypedef float vf __attribute__((vector_size(64)));\n"
                           "#endif\n_Pragma(\"clang loop vectorize(enable)\")\n";
  const std::vector<std::string> blocks = {body + "b1[0] = b2[0];\n", body + "b3[0] = b4[0];\n"};
  const codegen::SharedGroups s = codegen::share_repeated_groups(blocks, type_of);
  CHECK(s.functions.find("#if defined(abc)") != std::string::npos);
  CHECK(s.functions.find("__attribute__((vector_size(64)))") != std::string::npos);
  CHECK(s.functions.find("\"clang loop vectorize(enable)\"") != std::string::npos);
  CHECK(s.functions.find("P0[0] = P1[0];") != std::string::npos);
}

TEST_CASE("blocks that differ in a constant or an operation are not shared") {
  const std::vector<std::string> blocks = {"b1[0] = b2[0] * 0.5f;\n", "b3[0] = b4[0] * 0.25f;\n",
                                           "b5[0] = b6[0] + 0.5f;\n"};
  const codegen::SharedGroups s = codegen::share_repeated_groups(blocks, type_of);
  CHECK(s.functions.empty());
  CHECK(s.body == blocks[0] + blocks[1] + blocks[2]);
}

TEST_CASE("a deep network's step shares its layers and still equals the interpreter") {
  std::vector<nn::Layer> layers{nn::Linear(2, 6), nn::Tanh()};
  for (int d = 0; d < 6; ++d) {
    layers.emplace_back(nn::Linear(6, 6));
    layers.emplace_back(nn::Tanh());
  }
  layers.emplace_back(nn::Linear(6, 1));
  nn::Sequential net(layers);
  Input y{{2}, "y"};
  const Lowered l = lower({{"loss", mse(net(y), Target{{1}, "c"})}}, ir::DType::F64);
  std::vector<std::string> names;
  for (const ParamSpec& p : l.params)
    names.push_back(p.name);
  const ir::Graph g = ir::grad(l.graph, "loss", names);
  Executable exe = Executable::compile(g, {.cpu_units = 1}); // one text to inspect
  CHECK(count(exe.kernel().source, "static void kiln_group_") >= 2);
  ir::Bindings v = init_parameters(l.params, 2, ir::DType::F64);
  v.emplace("y", ir::Tensor(ir::DType::F64, {3, 2}, {0.5, -1.0, 2.0, 0.3, -0.7, 1.1}));
  v.emplace("c", ir::Tensor(ir::DType::F64, {3, 1}, {0.2, -0.4, 0.9}));
  const auto got = exe.run_tensors(v);
  const auto want = ir::interpret(ir::optimize(g), v);
  for (size_t i = 0; i < got.size(); ++i)
    CHECK(test::max_rel_error(got[i], want[i]) < 1e-12);
}

TEST_CASE("a step splits into runs of consecutive groups of about equal size") {
  auto lines = [](int n, const std::string& tag) {
    std::string s;
    for (int i = 0; i < n; ++i)
      s += tag + "[" + std::to_string(i) + "] = 0.0f;\n";
    return s;
  };
  codegen::SharedGroups s;
  for (int b = 0; b < 6; ++b) {
    s.blocks.push_back(lines(50, "b" + std::to_string(b)));
    s.calls.emplace_back();
  }
  CHECK(codegen::unit_starts(s, 1) == std::vector<size_t>{0});
  CHECK(codegen::unit_starts(s, 2) == std::vector<size_t>{0, 3});
  CHECK(codegen::unit_starts(s, 3) == std::vector<size_t>{0, 2, 4});
  // 300 lines make at most 3 units of at least 80 lines, however many cores there are.
  CHECK(codegen::unit_starts(s, 8).size() == 3);
  // A shared function's lines count once per unit that calls it: here unit 0 holds the blocks
  // that call a 200-line function, so the rest goes to unit 1.
  codegen::SharedGroups f;
  f.function_text["kiln_group_x"] = lines(200, "P0");
  for (int b = 0; b < 4; ++b) {
    f.blocks.push_back("kiln_group_x(b" + std::to_string(b) + ");\n");
    f.calls.emplace_back("kiln_group_x");
  }
  f.blocks.push_back(lines(150, "b9"));
  f.calls.emplace_back();
  CHECK(codegen::unit_starts(f, 2) == std::vector<size_t>{0, 1});
  // A small step stays whole.
  codegen::SharedGroups small;
  small.blocks = {lines(30, "a"), lines(30, "b")};
  small.calls = {"", ""};
  CHECK(codegen::unit_starts(small, 4) == std::vector<size_t>{0});
}

TEST_CASE("a row-block step's arrays are known by name, and named once") {
  using kiln::codegen::row_block_array;
  using kiln::codegen::row_block_array_name;
  using kiln::codegen::RowBlockArray;
  for (RowBlockArray kind : {RowBlockArray::Acc, RowBlockArray::Bt, RowBlockArray::Sums})
    for (size_t g : {0u, 7u, 123u}) {
      const std::string name = row_block_array_name(kind, g);
      CHECK(row_block_array(name).kind == kind);
      CHECK(row_block_array(name).group == g);
    }
  CHECK(row_block_array_name(RowBlockArray::Acc, 12) == "kiln_acc12");
  CHECK(row_block_array_name(RowBlockArray::Bt, 3) == "kiln_bt3");
  CHECK(row_block_array_name(RowBlockArray::Sums, 5) == "kiln_sums5");
  // Anything else is not one: a slot, a bare prefix, a prefix with more letters, a sign.
  for (const char* id : {"b12", "kiln_acc", "kiln_accx1", "kiln_bt-1", "kiln_sum5", "kiln_r0"})
    CHECK(row_block_array(id).kind == RowBlockArray::None);
  CHECK_THROWS_AS(row_block_array_name(RowBlockArray::None, 1), kiln::InternalError);
}
