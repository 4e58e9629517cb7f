// codegen::schedule makes every fusion decision: which nodes are computed once and stored,
// which are recomputed where they are used, and which loop nest (group) computes what. These
// tests pin those decisions, Before/Expected: a graph in, its groups out, so that a change that
// splits a fused kernel fails here even when the numbers it computes stay right.

#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "codegen/schedule.h"
#include "frontend/kiln.h"
#include "ir/passes.h"
#include "ir/print.h"
#include "train/problem.h"

using namespace kiln;
using codegen::Group;
using codegen::Schedule;
using codegen::Slot;

namespace {

/** One line per group: "<kind> <domain>: <root op>[*] ...", * for a root stored to memory. */
std::vector<std::string> groups(const Schedule& sc) {
  static constexpr const char* kKind[] = {"pointwise", "reduce", "matmul"};
  std::vector<std::string> out;
  for (const Group& g : sc.groups) {
    std::string line = str(kKind[static_cast<int>(g.kind)], " ", g.domain, ":");
    for (ir::NodeId r : g.roots)
      line += str(" ", ir::op_name(sc.graph.node(r).op), sc.stored[r] ? "*" : "");
    out.push_back(line);
  }
  return out;
}

/** The schedule of an IR listing (ir/print.h), its updates given as {output, param}. */
Schedule schedule_of(const std::string& text, std::vector<codegen::Update> updates = {}) {
  return codegen::schedule(ir::parse_graph(text), updates);
}

int count(const Schedule& sc, Slot::Role role) {
  int n = 0;
  for (const Slot& s : sc.slots)
    n += s.role == role;
  return n;
}

/** The step, prediction and evaluation graphs of a supervised problem, optimized. */
struct Course {
  train::ProblemGraphs g;
  ir::Graph step, predict;
};
Course course(const nn::Layer& net, int64_t in, int64_t out, const Loss& loss) {
  Course c{
      train::build(train::supervised(net, in, out, loss, std::make_shared<optim::Adam>())), {}, {}};
  c.step = ir::optimize(c.g.step->graph);
  c.predict = ir::optimize(c.g.predict);
  return c;
}

} // namespace

TEST_CASE("schedule: a layer is one loop nest: the product, its bias and its activation") {
  const Schedule sc = schedule_of(R"(graph {
    %x = input {name="x"} : f32[N,2]
    %W = param {name="W"} : f32[4,2]
    %b = param {name="b"} : f32[4]
    %m = matmul(%x, %W) {ta=0, tb=1} : f32[N,4]
    %bb = broadcast(%b) {shape=[N,4]} : f32[N,4]
    %z = add(%m, %bb) : f32[N,4]
    %h = tanh(%z) : f32[N,4]
    output h = %h
  })");
  CHECK(groups(sc) == std::vector<std::string>{"matmul [N,4]: matmul tanh*"});
  // The bias add and its broadcast are recomputed inside the epilogue, never stored.
  CHECK(sc.storage[4] == codegen::Storage::Inline);
  CHECK(sc.storage[5] == codegen::Storage::Inline);
  CHECK(count(sc, Slot::Role::Scratch) == 0);
}

TEST_CASE("schedule: a value two others use is computed once; a cheap one feeding one is not") {
  const Schedule sc = schedule_of(R"(graph {
    %x = input {name="x"} : f32[N,3]
    %e = exp(%x) : f32[N,3]
    %a = add(%e, %x) : f32[N,3]
    %m = mul(%e, %x) : f32[N,3]
    %n = neg(%x) : f32[N,3]
    %s = sub(%n, %x) : f32[N,3]
    output a = %a
    output m = %m
    output s = %s
  })");
  // exp feeds two nodes: a root of the group, in a register, not in memory. neg feeds one: inline.
  CHECK(groups(sc) ==
        std::vector<std::string>{"pointwise [N,3]: exp add* mul*", "pointwise [N,3]: sub*"});
  CHECK(sc.storage[4] == codegen::Storage::Inline);
  CHECK(count(sc, Slot::Role::Scratch) == 0);
}

TEST_CASE("schedule: an expensive value is not recomputed for every element it is broadcast to") {
  const Schedule sc = schedule_of(R"(graph {
    %x = input {name="x"} : f32[N,3]
    %w = param {name="w"} : f32[3]
    %e = exp(%w) : f32[3]
    %be = broadcast(%e) {shape=[N,3]} : f32[N,3]
    %y = mul(%x, %be) : f32[N,3]
    output y = %y
  })");
  CHECK(groups(sc) == std::vector<std::string>{"pointwise [3]: exp*", "pointwise [N,3]: mul*"});
  CHECK(count(sc, Slot::Role::Scratch) == 1); // exp(w), 3 values

  // A cheap one is: w + 1 is recomputed at every element, one loop nest in all.
  const Schedule cheap = schedule_of(R"(graph {
    %x = input {name="x"} : f32[N,3]
    %w = param {name="w"} : f32[3]
    %one = constant {value=1.0} : f32[3]
    %e = add(%w, %one) : f32[3]
    %be = broadcast(%e) {shape=[N,3]} : f32[N,3]
    %y = mul(%x, %be) : f32[N,3]
    output y = %y
  })");
  CHECK(groups(cheap) == std::vector<std::string>{"pointwise [N,3]: mul*"});
}

TEST_CASE("schedule: a reduction takes what follows it at its own index as its epilogue") {
  const Schedule sc = schedule_of(R"(graph {
    %x = input {name="x"} : f32[N,3]
    %w = param {name="w"} : f32[3]
    %lr = input {name="lr"} : f32[3]
    %g = sum(%x) {axes=[0]} : f32[3]
    %step = mul(%g, %lr) : f32[3]
    %new = sub(%w, %step) : f32[3]
    output new_w = %new
  })",
                                  {{"new_w", "w"}});
  CHECK(groups(sc) == std::vector<std::string>{"reduce [3]: sum sub*"});
  // The update is written straight into w's buffer: nothing reads the old w after it.
  CHECK(sc.copy_back.empty());
  CHECK(count(sc, Slot::Role::Output) == 0);
  CHECK(sc.slots[static_cast<size_t>(sc.slot_of[1])].written);
}

TEST_CASE("schedule: an update whose old value is read later is copied back at the end") {
  const Schedule sc = schedule_of(R"(graph {
    %x = input {name="x"} : f32[N,3]
    %w = param {name="w"} : f32[3]
    %g = sum(%x) {axes=[0]} : f32[3]
    %new = sub(%w, %g) : f32[3]
    %bw = broadcast(%w) {shape=[N,3]} : f32[N,3]
    %y = mul(%x, %bw) : f32[N,3]
    %s = sum(%y) {axes=[0, 1]} : f32[]
    output new_w = %new
    output s = %s
  })",
                                  {{"new_w", "w"}});
  // The last group still reads the old w after the first group has computed the new one.
  CHECK(groups(sc) == std::vector<std::string>{"reduce [3]: sum sub*", "reduce []: sum*"});
  REQUIRE(sc.copy_back.size() == 1);
  CHECK(sc.slots[static_cast<size_t>(sc.copy_back[0].second)].name == "w");
}

TEST_CASE("schedule: the course's regression network, forward pass") {
  const Course c = course(nn::Sequential{nn::Linear(1, 14), nn::Tanh(), nn::Linear(14, 10),
                                         nn::Sigmoid(), nn::Linear(10, 1)},
                          1, 1, Loss::mse());
  const Schedule sc = codegen::schedule(c.predict);
  INFO(ir::to_text(c.predict));
  CHECK(groups(sc) == std::vector<std::string>{"matmul [N,14]: matmul tanh*",
                                               "matmul [N,10]: matmul sigmoid*",
                                               "matmul [N,1]: matmul add*"});
}

TEST_CASE("schedule: the course's regression step fuses each Adam update into its gradient") {
  const Course c = course(nn::Sequential{nn::Linear(1, 14), nn::Tanh(), nn::Linear(14, 10),
                                         nn::Sigmoid(), nn::Linear(10, 1)},
                          1, 1, Loss::mse());
  const Schedule sc = codegen::schedule(c.step, c.g.step->updates);
  INFO(sc.describe());
  // Forward (three layers, each one loop nest), the loss and its gradient, the step count and
  // Adam's bias corrections (scalars that read no other group, so they go first), then for
  // every parameter the group of its gradient, whose epilogue updates the two moments and the
  // parameter itself (add, add, sub) in place.
  CHECK(groups(sc) == std::vector<std::string>{
                          "matmul [N,14]: matmul tanh*",
                          "reduce []: sum*",
                          "pointwise []: add* div* sqrt*",
                          "matmul [N,10]: matmul sigmoid*",
                          "matmul [N,1]: matmul sub* mul*",
                          "reduce []: mean*",
                          "reduce [1]: sum add* add* sub*",
                          "matmul [N,10]: matmul mul*",
                          "matmul [1,10]: matmul add* add* sub*",
                          "reduce [10]: sum add* add* sub*",
                          "matmul [N,14]: matmul mul*",
                          "matmul [10,14]: matmul add* add* sub*",
                          "reduce [14]: sum add* add* sub*",
                          "matmul [14,1]: matmul add* add* sub*",
                      });
  CHECK(sc.copy_back.empty()); // every update in place
  CHECK(sc.output_copies.empty());
}

TEST_CASE("schedule: the course's classification step") {
  const Course c = course(nn::Sequential{nn::Linear(2, 14), nn::Tanh(), nn::Linear(14, 10),
                                         nn::Sigmoid(), nn::Linear(10, 3)},
                          2, 3, Loss::cross_entropy());
  const Schedule sc = codegen::schedule(c.step, c.g.step->updates);
  INFO(sc.describe());
  const std::vector<std::string> got = groups(sc);
  // Three forward layers, softmax cross-entropy's max and sum over the classes, the loss and
  // the accuracy, then six gradient groups that each end in their parameter's Adam update.
  int updates = 0;
  for (const std::string& line : got)
    updates += line.ends_with("add* add* sub*");
  CHECK(updates == 6);
  CHECK(got.front() == "matmul [N,14]: matmul tanh*");
  CHECK(std::count(got.begin(), got.end(), "matmul [N,10]: matmul sigmoid*") == 1);
  CHECK(sc.copy_back.empty());
  CHECK(got.size() <= 20);
}

TEST_CASE("slot_named and metric_slot find an epoch's data and metrics, or name what is missing") {
  const Schedule sc = schedule_of(R"(graph {
    %x = input {name="x"} : f32[N,3]
    %s = sum(%x) {axes=[0,1]} : f32[]
    %r = sum(%x) {axes=[1]} : f32[N]
    output loss = %s
    output rows = %r
  })");
  const size_t x = codegen::slot_named(sc, Slot::Role::Input, "x");
  CHECK(sc.slots[x].name == "x");
  CHECK(sc.slots[x].role == Slot::Role::Input);
  const size_t loss = codegen::metric_slot(sc, "loss");
  CHECK(sc.slots[loss].name == "loss");
  CHECK(sc.slots[loss].role == Slot::Role::Output);
  // An input is not an output of that name, and the messages name the op and the graph.
  CHECK_THROWS_WITH(codegen::slot_named(sc, Slot::Role::Output, "x", "evaluate", "graph"),
                    "[evaluate] the graph has no output named 'x'");
  CHECK_THROWS_WITH(codegen::slot_named(sc, Slot::Role::Input, "y"),
                    "[epoch] the step graph has no input named 'y'");
  CHECK_THROWS_WITH(codegen::metric_slot(sc, "rows"),
                    "[epoch] metric 'rows' must be a scalar output, got f32[N]");
}
