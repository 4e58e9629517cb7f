// The CUDA renderer without a GPU: every kernel the codegen tests generate (the op table, random
// graphs, the course's networks and their training steps, the benchmark's MLP) renders and
// compiles with NVRTC for sm_80 and sm_90 with an empty log; the launch plans are what the
// header of codegen/cuda/renderer.h promises.

#include <catch2/catch.hpp>

#include <future>

#include "base/error.h"
#include "codegen/cuda/chunk_analysis.h"
#include "codegen/cuda/renderer.h"
#include "ir/passes.h"
#include "runtime/cuda/nvrtc.h"
#include "tests/codegen/cuda/cuda_graphs.h"
#include "tests/support/random_graph.h"

using namespace kiln;
using namespace kiln::test;
using codegen::CudaPlan;

namespace {

bool blank(const std::string& s) {
  return s.find_first_not_of(" \t\r\n") == std::string::npos;
}

/**
 * Compiles every kernel of the module (k.source holds all plans) for sm_80 and sm_90, side by
 * side and never from the cache, and checks that NVRTC said nothing.
 */
void compiles_cleanly(const codegen::CudaKernel& k, const std::string& what) {
  std::vector<std::future<runtime::NvrtcResult>> results;
  for (int sm : {80, 90}) {
    runtime::NvrtcOptions o;
    o.name = "cuda_render_test";
    o.sm = sm;
    o.use_cache = false;
    results.push_back(
        std::async(std::launch::async, [&k, o] { return runtime::nvrtc_compile(k.source, o); }));
  }
  for (size_t i = 0; i < results.size(); ++i) {
    const runtime::NvrtcResult r = results[i].get();
    INFO(what << " for sm_" << (i == 0 ? 80 : 90) << ":\n" << r.log);
    CHECK(blank(r.log));
    CHECK(r.binary.size() > 1000);
  }
  for (const CudaPlan& p : k.plans)
    for (const codegen::CudaLaunch& l : p.launches) {
      INFO(what << ": " << l.kernel);
      CHECK(k.source.find(l.kernel + "(") != std::string::npos);
    }
}

bool has_plan(const codegen::CudaKernel& k, CudaPlan::Kind kind) {
  for (const CudaPlan& p : k.plans)
    if (p.kind == kind)
      return true;
  return false;
}

} // namespace

TEST_CASE("every op and its gradient renders for CUDA and compiles without a warning (f32)") {
  const auto [g, values] = op_table_graph(ir::DType::F32);
  const codegen::CudaKernel k = codegen::render_cuda(ir::optimize(g));
  CHECK(k.plans.back().kind == CudaPlan::Kind::PerGroup);
  compiles_cleanly(k, "op table f32");
}

TEST_CASE("every op and its gradient renders for CUDA and compiles without a warning (f64)") {
  const auto [g, values] = op_table_graph(ir::DType::F64);
  compiles_cleanly(codegen::render_cuda(ir::optimize(g)), "op table f64");
}

TEST_CASE("random graphs render for CUDA and compile without a warning (seeds 1-12)") {
  for (uint64_t seed = 1; seed <= 12; ++seed) {
    const ir::DType t = seed % 3 == 0 ? ir::DType::F64 : ir::DType::F32;
    const RandomGraph r = random_graph(seed, t);
    compiles_cleanly(codegen::render_cuda(ir::optimize(r.graph)),
                     "random graph " + std::to_string(seed));
  }
}

TEST_CASE("random graphs render for CUDA and compile without a warning (seeds 13-24)") {
  for (uint64_t seed = 13; seed <= 24; ++seed) {
    const ir::DType t = seed % 3 == 0 ? ir::DType::F64 : ir::DType::F32;
    const RandomGraph r = random_graph(seed, t);
    compiles_cleanly(codegen::render_cuda(ir::optimize(r.graph)),
                     "random graph " + std::to_string(seed));
  }
}

namespace {

// A step holds its network's forward and backward groups, so compiling the steps covers both.
void course_steps_compile(ir::DType t) {
  {
    for (const CourseNet& n : course_nets(t)) {
      const StepGraph sg = adam_step(n.lowered);
      const codegen::CudaKernel k = codegen::render_cuda(
          sg.graph, {.updates = sg.updates, .epoch = codegen::EpochSpec{{"y", "c"}, {"loss"}}});
      // Batch 5 runs as one block, and so does the whole epoch.
      REQUIRE(k.plans.front().kind == CudaPlan::Kind::SingleBlock);
      CHECK(&k.plan_for(5) == &k.plans.front());
      CHECK(k.plans.front().launches.size() == 1);
      CHECK(k.epoch_max_batch == k.plans.front().max_batch);
      INFO(n.name << " " << to_string(t));
      CHECK(k.epoch_max_batch >= (t == ir::DType::F32 ? 64 : 32));
      CHECK(!k.epoch_kernel.empty());
      compiles_cleanly(k, n.name + " step");
    }
  }
}

} // namespace

TEST_CASE("the course's networks and their training steps compile, with a fused epoch (f32)") {
  course_steps_compile(ir::DType::F32);
}

TEST_CASE("the course's networks and their training steps compile, with a fused epoch (f64)") {
  course_steps_compile(ir::DType::F64);
}

TEST_CASE(
    "an MLP step has a single-block plan for small batches and a chunked plan for any batch") {
  const StepGraph sg = adam_step(relu_mlp(32, 64, 4, 16));
  const codegen::CudaKernel k = codegen::render_cuda(sg.graph, {.updates = sg.updates});
  REQUIRE(k.plans.size() == 3);
  CHECK(k.plans[0].kind == CudaPlan::Kind::SingleBlock);
  CHECK(k.plans[1].kind == CudaPlan::Kind::Chunked);
  CHECK(k.plans[2].kind == CudaPlan::Kind::PerGroup);
  CHECK(k.plan_for(5).kind == CudaPlan::Kind::SingleBlock);
  CHECK(k.plan_for(1 << 18).kind == CudaPlan::Kind::Chunked);
  const CudaPlan& c = k.plans[1];
  // Pre-groups (step count, bias corrections, 1/N), one chunk kernel, one wave: the whole
  // forward, backward and 10 param updates in a handful of launches instead of one per group.
  CHECK(c.launches.size() <= 5);
  CHECK(c.launches.size() < k.plans[2].launches.size() / 4);
  REQUIRE(c.ws_launch >= 0);
  const codegen::CudaLaunch& chunk = c.launches[static_cast<size_t>(c.ws_launch)];
  CHECK(chunk.kernel.ends_with("_chunk"));
  CHECK(chunk.blocks(1) == 1);
  CHECK(chunk.blocks(1 << 18) == chunk.max_blocks);
  CHECK(c.workspace_bytes(1 << 18) == chunk.max_blocks * c.ws_block_bytes);
  // Every gradient's partial sums of one block: 16x64 + 3 x 64x64 + 64x32 weights, 4x64 + 16
  // biases and the loss.
  CHECK(c.ws_block_bytes >= 4 * (16 * 64 + 3 * 64 * 64 + 64 * 32 + 4 * 64 + 16 + 1));
  CHECK(c.device_scratch.size() < k.plans[2].device_scratch.size());
  compiles_cleanly(k, "MLP step");
  compiles_cleanly(codegen::render_cuda(sg.graph, {.updates = sg.updates, .fast_math = true}),
                   "MLP step, fast math");
}

TEST_CASE("MLPs up to 128 wide get a chunked plan") {
  for (int64_t width : {16, 32, 128}) {
    INFO("width " << width);
    const StepGraph sg = adam_step(relu_mlp(3, width, 4, 2));
    const codegen::CudaKernel k = codegen::render_cuda(sg.graph, {.updates = sg.updates});
    REQUIRE(has_plan(k, CudaPlan::Kind::Chunked));
    const CudaPlan& c = k.plan_for(1 << 16);
    CHECK(c.kind == CudaPlan::Kind::Chunked);
    CHECK(c.launches[static_cast<size_t>(c.ws_launch)].shared_bytes(1 << 16) <= 96 * 1024);
  }
}

TEST_CASE("TF32 puts the chunked plan's layer products on tensor cores; they compile cleanly") {
  for (int64_t width : {64, 128}) {
    INFO("width " << width);
    const StepGraph sg = adam_step(relu_mlp(32, width, 4, 16));
    const codegen::CudaKernel k =
        codegen::render_cuda(sg.graph, {.updates = sg.updates, .tf32 = true});
    REQUIRE(has_plan(k, CudaPlan::Kind::Chunked));
    const CudaPlan& c = k.plan_for(1 << 16);
    REQUIRE(c.kind == CudaPlan::Kind::Chunked);
    // Every layer's product, forward and backward, is at least 8 deep and 16 wide here.
    CHECK(c.summary.find("products on TF32 tensor cores") != std::string::npos);
    CHECK(c.source.find("kiln_tc_mma(") != std::string::npos);
    CHECK(c.source.find("wmma.mma.sync.aligned.row.row.m16n16k8.f32.tf32.tf32.f32") !=
          std::string::npos);
    // A100s give a block at most 163 KiB of shared memory.
    CHECK(c.launches[static_cast<size_t>(c.ws_launch)].shared_bytes(1 << 16) <= 160 * 1024);
    compiles_cleanly(k, "MLP step on tensor cores");
  }
  // Without tf32 nothing changes: no tensor-core code at all.
  const StepGraph sg = adam_step(relu_mlp(32, 64, 4, 16));
  const codegen::CudaKernel plain = codegen::render_cuda(sg.graph, {.updates = sg.updates});
  CHECK(plain.source.find("kiln_tc_") == std::string::npos);
}

TEST_CASE("tensor-core stages pad to whole tiles and keep every tile 32-byte aligned") {
  const codegen::cuda::TensorCoreStage st = codegen::cuda::tensor_core_stage(40, 14, 20);
  CHECK(st.rows16 == 48);
  CHECK(st.depth8 == 16);
  CHECK(st.cols16 == 32);
  CHECK(st.slice == 16);
  CHECK(codegen::cuda::tensor_core_stage(64, 100, 128).slice == 32);
  CHECK(st.lda % 4 == 0);
  CHECK(st.ldb % 4 == 0);
  CHECK(st.ldc % 4 == 0);
  CHECK((st.b_offset * 4) % 32 == 0);
  CHECK((16 * st.lda * 4) % 32 == 0);
  CHECK((8 * st.ldb * 4) % 32 == 0);
  CHECK(st.tiles == 3 * 2);
  CHECK(st.tiles_per_warp == 1);
  CHECK(st.bytes == 4 * std::max(st.b_offset + st.slice * st.ldb, st.rows16 * st.ldc));
  CHECK_FALSE(codegen::cuda::tensor_core_eligible(ir::DType::F32, 4, 64));  // too shallow
  CHECK_FALSE(codegen::cuda::tensor_core_eligible(ir::DType::F32, 64, 10)); // too narrow
  CHECK_FALSE(codegen::cuda::tensor_core_eligible(ir::DType::F64, 64, 64));
  CHECK(codegen::cuda::tensor_core_eligible(ir::DType::F32, 128, 128));
}

TEST_CASE("plan choices render only the chosen plan besides the per-group fallback") {
  const StepGraph sg = adam_step(course_nets(ir::DType::F32)[0].lowered);
  const codegen::CudaKernel per_group = codegen::render_cuda(
      sg.graph, {.updates = sg.updates, .plans = codegen::CudaPlanChoice::PerGroup});
  CHECK(per_group.plans.size() == 1);
  const codegen::CudaKernel chunked = codegen::render_cuda(
      sg.graph, {.updates = sg.updates, .plans = codegen::CudaPlanChoice::Chunked});
  REQUIRE(chunked.plans.size() == 2);
  CHECK(chunked.plans[0].kind == CudaPlan::Kind::Chunked);
  CHECK(!has_plan(chunked, CudaPlan::Kind::SingleBlock));
  // A graph whose rows mix (a transpose puts N second) has no chunked plan.
  ir::Builder b;
  const ir::Val x(b, b.input("x", ir::Type{ir::DType::F32, ir::Shape{ir::kBatch, 3}}));
  b.set_output("y", ir::transpose(x).id());
  CHECK(!has_plan(codegen::render_cuda(b.graph()), CudaPlan::Kind::Chunked));
}

TEST_CASE("launch extents follow the batch size") {
  codegen::CudaLaunch l;
  l.grid = {{codegen::Extent{14, 1}, 256}};
  l.shared_terms = {{codegen::Extent{10, 1}, 4}, {codegen::Extent{3, 0}, 8}};
  l.shared_fixed = 100;
  CHECK(l.blocks(1) == 1);
  CHECK(l.blocks(100) == 6);                  // ceil(1400 / 256)
  CHECK(l.shared_bytes(5) == 100 + 208 + 32); // align16(200) + align16(24)
  l.max_blocks = 4;
  CHECK(l.blocks(100) == 4);
  CHECK(codegen::Extent::of(ir::Shape{ir::kBatch, 4, ir::kBatch}).at(3) == 36);
}

TEST_CASE("epoch errors name the missing input or output") {
  const StepGraph sg = adam_step(course_nets(ir::DType::F32)[0].lowered);
  CHECK_THROWS_WITH(codegen::render_cuda(sg.graph, {.updates = sg.updates,
                                                    .epoch = codegen::EpochSpec{{"x"}, {"loss"}}}),
                    "[epoch] the step graph has no input named 'x'");
  CHECK_THROWS_WITH(
      codegen::render_cuda(
          sg.graph, {.updates = sg.updates, .epoch = codegen::EpochSpec{{"y", "c"}, {"acc"}}}),
      "[epoch] the step graph has no output named 'acc'");
}
