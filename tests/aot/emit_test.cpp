// The emitted files: they include nothing from kiln, build with plain g++ and clang++ as C++17,
// and compute what the JIT computes for the same graphs (forward, several training steps,
// baked weights), and their entry points report misuse with status codes.

#include <catch2/catch.hpp>

#include <cstring>
#include <fstream>
#include <sstream>

#include "aot/aot_model.h"
#include "base/rng.h"
#include "io/data.h"
#include "io/safetensors.h"
#include "runtime/executable.h"
#include "support.h"
#include "trainer/trainer.h"

using namespace kiln;
using aot_test::relative_difference;
using aot_test::run_command;
using aot_test::shell_quote;
namespace fs = std::filesystem;

namespace {

constexpr int64_t kBatch = 7; // odd, so no loop divides it evenly
constexpr int64_t kSteps = 3;
constexpr float kLr = 0.05f;
constexpr double kTolerance = 1e-5;

nn::Sequential regression_net() {
  return nn::Sequential{nn::Linear(3, 8), nn::Tanh(), nn::Linear(8, 8), nn::Sigmoid(),
                        nn::Linear(8, 2)};
}

aot::AotSpec regression_spec(const fs::path& dir, const std::string& name,
                             const std::string& checkpoint) {
  aot::AotSpec s;
  s.name = name;
  s.out_dir = dir.string();
  s.net = regression_net();
  s.in_features = 3;
  s.out_features = 2;
  s.loss = Loss::mse();
  s.optimizer = std::make_shared<optim::Adam>(1e-2);
  s.weight_decay = 1e-3;
  s.checkpoint = checkpoint;
  return s;
}

aot::AotSpec classifier_spec(const fs::path& dir) {
  aot::AotSpec s;
  s.name = "cls";
  s.out_dir = dir.string();
  s.net = nn::Sequential{nn::Linear(3, 6), nn::ReLU(), nn::Linear(6, 4)};
  s.in_features = 3;
  s.out_features = 4;
  s.loss = Loss::cross_entropy();
  s.optimizer = std::make_shared<optim::Momentum>(0.1, 0.9);
  return s;
}

/** A checkpoint as the trainer writes it, after one epoch of training. */
std::string trained_checkpoint(const fs::path& dir) {
  data::Dataset d;
  d.x = MatrixRM::Random(20, 3);
  d.y = MatrixRM::Random(20, 2);
  Trainer t(regression_net(), Loss::mse(), std::make_shared<optim::Adam>(1e-2));
  t.fit(d, nullptr, {.epochs = 1, .batch_size = 5, .progress = false});
  const std::string path = (dir / "reg.safetensors").string();
  t.save(path);
  return path;
}

/** The inputs of one run: samples, targets or labels, and weights in the ABI's order. */
struct Problem {
  std::vector<float> x, target;
  std::vector<int32_t> labels;
  std::vector<std::vector<float>> params;
};

Problem make_problem(const aot::detail::AotModel& m, uint64_t seed) {
  Rng rng(seed);
  Problem p;
  for (int64_t i = 0; i < kBatch * m.in_features; ++i)
    p.x.push_back(static_cast<float>(rng.uniform(-1, 1)));
  for (int64_t i = 0; i < kBatch; ++i) {
    p.labels.push_back(static_cast<int32_t>(rng.below(static_cast<uint32_t>(m.out_features))));
    for (int64_t j = 0; j < m.out_features; ++j)
      p.target.push_back(static_cast<float>(rng.uniform(-1, 1)));
  }
  for (const auto& t : m.params) {
    std::vector<float> v;
    for (int64_t i = 0; i < t.size; ++i)
      v.push_back(t.baked.empty() ? static_cast<float>(rng.uniform(-0.6, 0.6)) : t.baked[i]);
    p.params.push_back(std::move(v));
  }
  return p;
}

/** What a run returns: the forward outputs, each step's loss, and the final weights and state. */
struct Results {
  std::vector<float> y, losses;
  std::vector<std::vector<float>> params, state;
};

std::vector<float> flat(const MatrixRM& m) {
  return {m.data(), m.data() + m.size()};
}
/** A tensor's values as set_param takes them. */
MatrixRM shaped(const std::vector<float>& v, const aot::detail::TensorInfo& t) {
  return aot_test::param_matrix(v, t.dims);
}

/** The same run through kiln::Executable (the JIT). */
Results jit_results(const aot::detail::AotModel& m, const Problem& p) {
  Results r;
  const MatrixRM x = Eigen::Map<const MatrixRM>(p.x.data(), kBatch, m.in_features);
  Executable fwd = Executable::compile(m.forward_graph, {.name = "aot_forward"});
  for (size_t i = 0; i < m.params.size(); ++i)
    fwd.set_param(m.params[i].name, shaped(p.params[i], m.params[i]));
  r.y = flat(fwd.run({{"y", x}}).at("F"));

  Executable step = Executable::compile(m.step_graph->graph,
                                        {.name = "aot_step", .updates = m.step_graph->updates});
  for (size_t i = 0; i < m.params.size(); ++i)
    step.set_param(m.params[i].name, shaped(p.params[i], m.params[i]));
  for (const auto& s : m.state)
    step.set_param(
        s.name,
        shaped(std::vector<float>(static_cast<size_t>(s.size), static_cast<float>(s.init)), s));
  const MatrixRM target = Eigen::Map<const MatrixRM>(p.target.data(), kBatch, m.out_features);
  Eigen::VectorXi labels(kBatch);
  for (int64_t i = 0; i < kBatch; ++i)
    labels(i) = p.labels[static_cast<size_t>(i)];
  const MatrixRM lr = MatrixRM::Constant(1, 1, kLr);
  for (int64_t s = 0; s < kSteps; ++s) {
    Feed feed{{"y", x}, {"lr", lr}};
    if (m.classification)
      feed.emplace_back("c", labels);
    else
      feed.emplace_back("c", target);
    r.losses.push_back(step.run(feed).at("loss")(0, 0));
  }
  for (const auto& t : m.params)
    r.params.push_back(flat(step.param(t.name)));
  for (const auto& t : m.state)
    r.state.push_back(flat(step.param(t.name)));
  return r;
}

template <class T>
void put(std::ofstream& f, const std::vector<T>& v) {
  f.write(reinterpret_cast<const char*>(v.data()),
          static_cast<std::streamsize>(v.size() * sizeof(T)));
}
std::vector<float> take(std::ifstream& f, int64_t count) {
  std::vector<float> v(static_cast<size_t>(count));
  f.read(reinterpret_cast<char*>(v.data()), static_cast<std::streamsize>(v.size() * sizeof(float)));
  REQUIRE(f.gcount() == static_cast<std::streamsize>(v.size() * sizeof(float)));
  return v;
}

/** The same run through the compiled driver (tests/aot/driver.cpp). */
Results driver_results(const fs::path& driver, const aot::detail::AotModel& m, const Problem& p,
                       bool baked) {
  const fs::path in = driver.parent_path() / (m.name + ".in"),
                 out = driver.parent_path() / (m.name + ".out");
  {
    std::ofstream f(in, std::ios::binary);
    const int64_t header[2] = {kBatch, kSteps};
    const float lr = kLr;
    const int32_t b = baked ? 1 : 0;
    f.write(reinterpret_cast<const char*>(header), sizeof header);
    f.write(reinterpret_cast<const char*>(&lr), sizeof lr);
    f.write(reinterpret_cast<const char*>(&b), sizeof b);
    put(f, p.x);
    if (m.classification)
      put(f, p.labels);
    else
      put(f, p.target);
    if (!baked)
      for (const auto& v : p.params)
        put(f, v);
  }
  const auto r = run_command(shell_quote(driver.string()) + " " + m.name + " run " +
                             shell_quote(in.string()) + " " + shell_quote(out.string()));
  INFO(r.output);
  REQUIRE(r.status == 0);
  std::ifstream f(out, std::ios::binary);
  Results res;
  res.y = take(f, kBatch * m.out_features);
  res.losses = take(f, kSteps);
  for (const auto& t : m.params)
    res.params.push_back(take(f, t.size));
  for (const auto& t : m.state)
    res.state.push_back(take(f, t.size));
  return res;
}

void check_same(const Results& got, const Results& want) {
  CHECK(relative_difference(got.y, want.y) <= kTolerance);
  CHECK(relative_difference(got.losses, want.losses) <= kTolerance);
  REQUIRE(got.params.size() == want.params.size());
  for (size_t i = 0; i < got.params.size(); ++i)
    CHECK(relative_difference(got.params[i], want.params[i]) <= kTolerance);
  REQUIRE(got.state.size() == want.state.size());
  for (size_t i = 0; i < got.state.size(); ++i)
    CHECK(relative_difference(got.state[i], want.state[i]) <= kTolerance);
}

/** The three models of the driver, emitted into a fresh folder. */
struct Emitted {
  aot_test::TempDir tmp{"aot-emit"};
  fs::path dir = tmp.path();
  aot::detail::AotModel reg, regb, cls;
};

Emitted emit_all() {
  Emitted e;
  const std::string checkpoint = trained_checkpoint(e.dir);
  const aot::AotSpec specs[] = {regression_spec(e.dir, "reg", ""),
                                regression_spec(e.dir, "regb", checkpoint), classifier_spec(e.dir)};
  for (const aot::AotSpec& s : specs)
    aot::emit(s);
  e.reg = aot::detail::build_model(specs[0]);
  e.regb = aot::detail::build_model(specs[1]);
  e.cls = aot::detail::build_model(specs[2]);
  return e;
}

/**
 * Compiles the driver and the three models with `compiler` at `opt` (-O2, or -O0 where only the
 * behaviour matters: it compiles in half the time); no include path but the folder.
 */
fs::path build_driver(const Emitted& e, const std::string& compiler,
                      const std::string& opt = "-O2") {
  const fs::path exe = e.dir / "driver";
  std::string cmd = shell_quote(compiler) + " -std=c++17 " + opt + " -Wall -Wextra -I" +
                    shell_quote(e.dir.string()) + " " +
                    shell_quote(KILN_SOURCE_DIR "/tests/aot/driver.cpp");
  for (const char* m : {"reg", "regb", "cls"})
    cmd += " " + shell_quote((e.dir / (std::string(m) + ".cpp")).string());
  const auto r = run_command(cmd + " -o " + shell_quote(exe.string()));
  INFO(cmd << "\n" << r.output);
  REQUIRE(r.status == 0);
  CHECK(r.output.find("warning") == std::string::npos);
  return exe;
}

void check_against_jit(const std::string& compiler) {
  const Emitted e = emit_all();
  const fs::path driver = build_driver(e, compiler);
  for (const aot::detail::AotModel* m : {&e.reg, &e.cls}) {
    INFO("model " << m->name << ", " << compiler);
    const Problem p = make_problem(*m, 7);
    check_same(driver_results(driver, *m, p, false), jit_results(*m, p));
  }
}

} // namespace

TEST_CASE("emitted files include nothing but their header, <stddef.h> and <stdint.h>") {
  const Emitted e = emit_all();
  for (const char* m : {"reg", "regb", "cls"})
    for (const char* ext : {".h", ".cpp"}) {
      const fs::path path = e.dir / (std::string(m) + ext);
      std::ifstream f(path);
      REQUIRE(f);
      std::vector<std::string> includes;
      for (std::string line; std::getline(f, line);)
        if (line.find("#include") != std::string::npos)
          includes.push_back(line);
      INFO(path);
      if (std::string(ext) == ".h")
        CHECK(includes == std::vector<std::string>{"#include <stddef.h>", "#include <stdint.h>"});
      else
        CHECK(includes == std::vector<std::string>{"#include \"" + std::string(m) + ".h\""});
    }
}

TEST_CASE("the emitted kernels are the kernels the JIT compiles for the same graphs") {
  const aot::detail::AotModel m =
      aot::detail::build_model(regression_spec(fs::temp_directory_path(), "reg", ""));
  // As one translation unit: the JIT may split a large step into several, the same code.
  const Executable fwd = Executable::compile(m.forward_graph, {.cpu_units = 1});
  const Executable step =
      Executable::compile(m.step_graph->graph, {.updates = m.step_graph->updates, .cpu_units = 1});
  CHECK(fwd.kernel().source == m.forward.source);
  CHECK(step.kernel().source == m.step->source);
}

TEST_CASE("emitting twice gives the same files") {
  const aot::AotSpec spec = classifier_spec(fs::temp_directory_path());
  const aot::detail::AotModel a = aot::detail::build_model(spec),
                              b = aot::detail::build_model(spec);
  CHECK(aot::detail::render_header(a) == aot::detail::render_header(b));
  CHECK(aot::detail::render_source(a) == aot::detail::render_source(b));
}

TEST_CASE("the emitted C++ builds with g++ -std=c++17 -O2 and matches the JIT") {
  check_against_jit(KILN_AOT_GXX);
}

TEST_CASE("the emitted C++ builds with clang++ -std=c++17 -O2 and matches the JIT") {
  if (std::strlen(KILN_AOT_CLANGXX) == 0 ||
      std::string(KILN_AOT_CLANGXX).find("NOTFOUND") != std::string::npos) {
    WARN("clang++ was not found: not checked");
    return;
  }
  check_against_jit(KILN_AOT_CLANGXX);
}

TEST_CASE("weights baked from a checkpoint give the same results as the same weights passed in") {
  const Emitted e = emit_all();
  const fs::path driver = build_driver(e, KILN_AOT_GXX, "-O0");
  REQUIRE(e.regb.baked);
  const Safetensors ckpt = load_safetensors((e.dir / "reg.safetensors").string());
  const Problem baked = make_problem(e.regb, 3);
  for (size_t i = 0; i < e.regb.params.size(); ++i) {
    INFO(e.regb.params[i].name);
    CHECK(baked.params[i] == ckpt.tensors.at(e.regb.params[i].name).to_vector<float>());
  }
  const Results from_baked = driver_results(driver, e.regb, baked, true);
  const Results passed_in = driver_results(driver, e.reg, baked, false);
  // The same kernel on the same values: identical bits, not merely close.
  CHECK(from_baked.y == passed_in.y);
  CHECK(from_baked.losses == passed_in.losses);
  CHECK(from_baked.params == passed_in.params);
  check_same(from_baked, jit_results(e.regb, baked));
}

TEST_CASE("the entry points report misuse with status codes") {
  const Emitted e = emit_all();
  const fs::path driver = build_driver(e, KILN_AOT_GXX, "-O0");
  auto statuses = [&](const char* model) {
    const auto r = run_command(shell_quote(driver.string()) + " " + model + " status");
    INFO(r.output);
    REQUIRE(r.status == 0);
    return r.output;
  };
  CHECK(statuses("reg") == "workspace_bytes(-1) 0\n"
                           "forward_null_params 4\n" // KILN_AOT_NO_WEIGHTS: nothing is baked
                           "forward_misaligned 2\n"
                           "forward_negative_n 1\n"
                           "forward_null_x 1\n"
                           "init_params 4\n"
                           "step_zero_n 1\n"
                           "step_misaligned 2\n"
                           "step_null_params 1\n");
  CHECK(statuses("regb") == "workspace_bytes(-1) 0\n"
                            "forward_null_params 0\n" // the baked weights
                            "forward_misaligned 2\n"
                            "forward_negative_n 1\n"
                            "forward_null_x 1\n"
                            "init_params 0\n"
                            "step_zero_n 1\n"
                            "step_misaligned 2\n"
                            "step_null_params 1\n");
  CHECK(statuses("cls") == "workspace_bytes(-1) 0\n"
                           "forward_null_params 4\n"
                           "forward_misaligned 2\n"
                           "forward_negative_n 1\n"
                           "forward_null_x 1\n"
                           "init_params 4\n"
                           "step_zero_n 1\n"
                           "step_misaligned 2\n"
                           "step_null_params 1\n"
                           "step_label_too_large 3\n"
                           "step_negative_label 3\n");
}

TEST_CASE(
    "the emitted headers are C and the objects link into a C program without the C++ runtime") {
  const Emitted e = emit_all();
  const std::string dir = shell_quote(e.dir.string()), cc = shell_quote(KILN_AOT_CC);
  std::string cmd = cc + " -std=c11 -Wall -Wextra -pedantic -c -I" + dir + " " +
                    shell_quote(KILN_SOURCE_DIR "/tests/aot/c_app.c") + " -o " + dir + "/c_app.o";
  for (const char* m : {"regb", "cls"})
    cmd += str(" && ", shell_quote(KILN_AOT_GXX), " -std=c++17 -O0 -c ", dir, "/", m, ".cpp -o ",
               dir, "/", m, ".o");
  // Linked by the C compiler: no libstdc++, so any need of the C++ runtime fails here.
  cmd += " && " + cc + " " + dir + "/c_app.o " + dir + "/regb.o " + dir + "/cls.o -lm -o " + dir +
         "/c_app";
  const auto built = run_command(cmd);
  INFO(cmd << "\n" << built.output);
  REQUIRE(built.status == 0);
  CHECK(built.output.find("warning") == std::string::npos);
  const auto r = run_command(shell_quote((e.dir / "c_app").string()));
  INFO(r.output);
  REQUIRE(r.status == 0);

  std::istringstream out(r.output);
  std::string word;
  out >> word;
  REQUIRE(word == "y");
  std::vector<float> y;
  for (float v; out >> v;)
    y.push_back(v);
  out.clear();
  std::string status;
  std::getline(out >> std::ws, status);
  // regb_train_step without params; cls_train_step; cls_init_params without baked weights.
  CHECK(status == "status 1 0 4");

  MatrixRM x(4, 3);
  for (int i = 0; i < 12; ++i)
    x.data()[i] = 0.25f * static_cast<float>(i) - 1.0f;
  Executable fwd = Executable::compile(e.regb.forward_graph);
  for (const auto& p : e.regb.params)
    fwd.set_param(p.name, shaped(p.baked, p));
  CHECK(relative_difference(y, flat(fwd.run({{"y", x}}).at("F"))) <= kTolerance);
}
