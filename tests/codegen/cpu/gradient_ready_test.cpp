// The gradient-ready hook (codegen/cpu/gradient_ready.h): a kernel compiled with
// CompileOptions::gradient_ready_hook reports every gradient exactly once, after its last write
// and, where the schedule goes group by group, before the rest of the backward pass is done.

#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

#include "codegen/cpu/gradient_ready.h"
#include "runtime/executable.h"
#include "runtime/program.h"
#include "train/problem.h"

using namespace kiln;
using codegen::Slot;

namespace {

/** The split step's gradient graph of a 2-feature, 3-class classifier. */
train::ProblemGraphs classifier(int hidden1, int hidden2) {
  train::Problem p = train::supervised(
      nn::Sequential{nn::Linear(2, hidden1), nn::Tanh(), nn::Linear(hidden1, hidden2),
                     nn::Sigmoid(), nn::Linear(hidden2, 3)},
      2, 3, Loss::cross_entropy(), std::make_shared<optim::SGD>(0.1));
  p.split_step = true;
  return train::build(p);
}

/** One call of a gradient kernel on n rows, its outputs in buffers of the test's own. */
struct Run {
  std::vector<std::vector<float>> outputs; // by slot
  std::vector<void*> slots;
  std::vector<float> y;
  std::vector<int32_t> c;

  Run(Executable& exe, int64_t n) : outputs(exe.schedule().slots.size()) {
    const auto& ss = exe.schedule().slots;
    slots.assign(ss.size(), nullptr);
    for (int64_t i = 0; i < n; ++i) {
      y.push_back(std::sin(0.37f * static_cast<float>(i)));
      y.push_back(std::cos(0.11f * static_cast<float>(i)));
      c.push_back(static_cast<int32_t>(i % 3));
    }
    for (size_t i = 0; i < ss.size(); ++i) {
      if (ss[i].role == Slot::Role::Param) {
        slots[i] = exe.param_data(ss[i].name);
      } else if (ss[i].role == Slot::Role::Input) {
        slots[i] = ss[i].name == "y" ? static_cast<void*>(y.data()) : c.data();
      } else if (ss[i].role == Slot::Role::Output) {
        // NaN until written: a report must never see it.
        outputs[i].assign(static_cast<size_t>(ss[i].type.shape.static_numel()),
                          std::numeric_limits<float>::quiet_NaN());
        slots[i] = outputs[i].data();
      }
    }
  }
};

/** What the hook saw: the slots in report order, each one's values then, and unwritten ones. */
struct Recorder {
  const Run* run;
  std::vector<int> order;
  std::vector<std::vector<float>> seen;
  /** Gradients still unwritten (NaN) when the first one was reported. */
  int unwritten_at_first = -1;

  static void ready(void* self, int slot) {
    auto& r = *static_cast<Recorder*>(self);
    const std::vector<float>& out = r.run->outputs[static_cast<size_t>(slot)];
    r.order.push_back(slot);
    r.seen.push_back(out);
    if (r.unwritten_at_first < 0) {
      r.unwritten_at_first = 0;
      for (const std::vector<float>& o : r.run->outputs)
        if (!o.empty() && std::isnan(o[0]))
          ++r.unwritten_at_first;
    }
  }
};

std::vector<int> gradient_slots(const codegen::Schedule& sc) {
  std::vector<int> out;
  for (size_t i = 0; i < sc.slots.size(); ++i)
    if (sc.slots[i].role == Slot::Role::Output && sc.slots[i].name.starts_with("grad:"))
      out.push_back(static_cast<int>(i));
  return out;
}

/** Compiles the gradients with the hook, runs them on n rows and checks every report. */
Recorder check_reports(const train::ProblemGraphs& g, int64_t n, bool& row_blocks) {
  Executable exe =
      Executable::compile(g.split->gradients, {.name = "gradients", .gradient_ready_hook = true});
  exe.set_params(init_parameters(g.params, 3, ir::DType::F64));
  row_blocks = exe.kernel().row_block > 0;

  Run plain(exe, n); // the same kernel, no hook set: it must compute the same
  exe.call(n, plain.slots.data());
  Run hooked(exe, n);
  Recorder rec{&hooked};
  const runtime::GradientReadyHook hook{&Recorder::ready, &rec};
  exe.program().set_gradient_ready(&hook);
  exe.call(n, hooked.slots.data());
  exe.program().set_gradient_ready(nullptr);

  std::vector<int> reported = rec.order;
  std::sort(reported.begin(), reported.end());
  CHECK(reported == gradient_slots(exe.schedule())); // each gradient once
  for (size_t k = 0; k < rec.order.size(); ++k) {
    const size_t slot = static_cast<size_t>(rec.order[k]);
    INFO("slot " << slot << " (" << exe.schedule().slots[slot].name << ")");
    CHECK(rec.seen[k] == hooked.outputs[slot]); // final when reported
  }
  for (size_t i = 0; i < plain.outputs.size(); ++i)
    CHECK(std::memcmp(plain.outputs[i].data(), hooked.outputs[i].data(),
                      plain.outputs[i].size() * sizeof(float)) == 0);
  // The order the runtime expects (every rank starts its sums in it) is the kernel's.
  std::vector<int> expected;
  for (const std::vector<int>& after :
       codegen::gradients_ready_after(exe.schedule(), exe.kernel().row_block > 0))
    expected.insert(expected.end(), after.begin(), after.end());
  CHECK(rec.order == expected);
  return rec;
}

} // namespace

TEST_CASE("a group-by-group gradient kernel reports each gradient as its group ends") {
  bool row_blocks = true;
  const Recorder rec = check_reports(classifier(80, 72), 40, row_blocks);
  REQUIRE_FALSE(row_blocks); // products too large for row blocks (codegen/cpu/row_block.h)
  // The backward pass had more gradients to compute when it reported the first: those are
  // what an all-reduce can overlap with.
  CHECK(rec.unwritten_at_first > 0);
}

TEST_CASE("a row-block gradient kernel reports its gradients at the end (summed over blocks)") {
  bool row_blocks = false;
  const Recorder rec = check_reports(classifier(14, 10), 20, row_blocks);
  REQUIRE(row_blocks);
  CHECK(rec.unwritten_at_first == 0);
}

TEST_CASE("a kernel compiled without the hook option cannot take a hook") {
  const train::ProblemGraphs g = classifier(14, 10);
  Executable exe = Executable::compile(g.split->gradients, {.name = "gradients"});
  CHECK(exe.kernel().ready_symbol.empty());
  CHECK(exe.kernel().source.find("kiln_gradient_ready(") == std::string::npos);
  const runtime::GradientReadyHook hook{[](void*, int) {}, nullptr};
  CHECK_THROWS_WITH(exe.program().set_gradient_ready(&hook),
                    Catch::Contains("compiled without CompileOptions::gradient_ready_hook"));
}
