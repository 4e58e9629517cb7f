// Every error kiln::aot::emit and the generator command line report, word for word.

#include <catch2/catch.hpp>

#include <fstream>

#include "aot/generator.h"
#include "io/safetensors.h"
#include "support.h"

using namespace kiln;
using Catch::Matchers::Contains;
using Catch::Matchers::Equals;
using Catch::Matchers::StartsWith;
namespace fs = std::filesystem;

namespace {

aot::AotSpec valid_spec(const fs::path& dir) {
  aot::AotSpec s;
  s.name = "m";
  s.out_dir = dir.string();
  s.net = nn::Sequential{nn::Linear(3, 2), nn::Tanh()};
  s.in_features = 3;
  s.out_features = 2;
  return s;
}

/** The checkpoint of valid_spec's network with `edit` applied to its tensors. */
std::string checkpoint(const fs::path& dir,
                       const std::function<void(std::map<std::string, HostTensor>&)>& edit) {
  std::map<std::string, HostTensor> t;
  t["0.weight"] = HostTensor::of<float>({2, 3}, {1, 2, 3, 4, 5, 6});
  t["0.bias"] = HostTensor::of<float>({2}, {0.5f, -0.5f});
  edit(t);
  const std::string path = (dir / "ckpt.safetensors").string();
  save_safetensors(path, t);
  return path;
}

} // namespace

TEST_CASE("aot errors: the spec") {
  const aot_test::TempDir tmp("aot-errors");
  const fs::path& dir = tmp.path();
  aot::AotSpec s = valid_spec(dir);
  CHECK_NOTHROW(aot::emit(s));

  s.name = "1st-model";
  CHECK_THROWS_WITH(aot::emit(s),
                    Equals("[aot] name '1st-model' is not a C identifier: use letters, digits "
                           "and '_', not starting with a digit"));
  s.name = "";
  CHECK_THROWS_WITH(aot::emit(s), StartsWith("[aot] name '' is not a C identifier"));

  s = valid_spec(dir);
  s.net.reset();
  CHECK_THROWS_AS(aot::emit(s), Error);
  CHECK_THROWS_WITH(aot::emit(s), Equals("[aot] m: AotSpec::net is not set"));

  s = valid_spec(dir);
  s.in_features = 0;
  CHECK_THROWS_WITH(aot::emit(s),
                    Equals("[aot] m: in_features and out_features must be >= 1, got 0 and 2"));

  s = valid_spec(dir);
  s.out_features = 5;
  CHECK_THROWS_WITH(
      aot::emit(s),
      Equals("[aot] m: the network maps [N,3] to [N,2], but out_features says [N,5]"));

  s = valid_spec(dir);
  s.net = nn::Sequential{nn::Tanh()};
  s.out_features = 3;
  CHECK_THROWS_WITH(aot::emit(s), Equals("[aot] m: the network has no parameters"));
}

TEST_CASE("aot errors: the checkpoint") {
  const aot_test::TempDir tmp("aot-errors-ckpt");
  const fs::path& dir = tmp.path();
  aot::AotSpec s = valid_spec(dir);
  s.checkpoint = checkpoint(dir, [](auto&) {});
  CHECK_NOTHROW(aot::emit(s));

  s.checkpoint = checkpoint(dir, [](auto& t) { t.erase("0.bias"); });
  CHECK_THROWS_AS(aot::emit(s), DataError);
  CHECK_THROWS_WITH(aot::emit(s),
                    Equals("[aot] " + s.checkpoint + ": the checkpoint has no tensor '0.bias'"));

  s.checkpoint = checkpoint(dir, [](auto& t) {
    t["0.weight"] = HostTensor::of<float>({2, 2}, {1, 2, 3, 4});
  });
  CHECK_THROWS_WITH(
      aot::emit(s),
      Equals("[aot] " + s.checkpoint +
             ": tensor '0.weight' is f32 [2, 2]; the network needs 6 f32 values ([2, 3])"));

  s.checkpoint = checkpoint(dir, [](auto& t) {
    t["0.weight"] = HostTensor::of<float>({3, 2}, {1, 2, 3, 4, 5, 6});
  });
  CHECK_THROWS_WITH(
      aot::emit(s),
      Equals("[aot] " + s.checkpoint +
             ": tensor '0.weight' is f32 [3, 2]; the network needs 6 f32 values ([2, 3])"));
  s.checkpoint = checkpoint(dir, [](auto& t) {
    t["0.bias"] = HostTensor::of<float>({1, 2}, {1.0f, 2.0f});
  });
  CHECK_THROWS_WITH(
      aot::emit(s),
      Equals("[aot] " + s.checkpoint +
             ": tensor '0.bias' is f32 [1, 2]; the network needs 2 f32 values ([2])"));

  s.checkpoint = checkpoint(dir, [](auto& t) {
    t["0.bias"] = HostTensor::of<double>({2}, {1.0, 2.0});
  });
  CHECK_THROWS_WITH(aot::emit(s),
                    Equals("[aot] " + s.checkpoint +
                           ": tensor '0.bias' is f64 [2]; the network needs 2 f32 values ([2])"));

  s.checkpoint = checkpoint(dir, [](auto& t) {
    t["0.bias"] = HostTensor::of<float>({2}, {0.0f, NAN});
  });
  CHECK_THROWS_WITH(aot::emit(s),
                    Equals("[aot] " + s.checkpoint +
                           ": tensor '0.bias' holds nan at index 1; baked weights must be finite"));

  s.checkpoint = (dir / "missing.safetensors").string();
  CHECK_THROWS_AS(aot::emit(s), DataError);
  CHECK_THROWS_WITH(aot::emit(s), StartsWith("[checkpoint] " + s.checkpoint));
}

TEST_CASE("aot errors: the output folder") {
  const aot_test::TempDir tmp("aot-errors-out");
  const fs::path& dir = tmp.path();
  std::ofstream(dir / "file") << "not a folder";
  aot::AotSpec s = valid_spec(dir / "file" / "sub");
  CHECK_THROWS_WITH(aot::emit(s), StartsWith("[aot] " + (dir / "file" / "sub").string() +
                                             ": cannot create the output folder: "));

  fs::create_directories(dir / "m.h"); // a folder where the header should go
  s = valid_spec(dir);
  CHECK_THROWS_WITH(aot::emit(s),
                    StartsWith("[aot] " + (dir / "m.h").string() + ": cannot write: "));
  CHECK_FALSE(fs::exists(dir / "m.h.tmp"));
  // The temporary file of the failed write is gone too (base/atomic_file.h names it .m.h.tmp-*).
  for (const auto& entry : fs::directory_iterator(dir))
    CHECK(entry.path().filename().string().find(".tmp") == std::string::npos);
}

TEST_CASE("aot errors: the generator's command line") {
  auto parse = [](std::vector<const char*> argv) {
    argv.insert(argv.begin(), "gen");
    return aot::parse_generator_args(static_cast<int>(argv.size()), argv.data());
  };
  const aot::GeneratorArgs a =
      parse({"--epochs", "3", "--name", "net", "--out-dir=/tmp/x", "--fast", "--lr=0.1"});
  CHECK(a.name == "net");
  CHECK(a.out_dir == "/tmp/x");
  CHECK_FALSE(a.cuda);
  CHECK(parse({"--cuda", "--name", "n", "--out-dir", "x"}).cuda);
  CHECK(a.args == std::vector<std::string>{"--epochs", "3", "--fast", "--lr=0.1"});
  CHECK(a.value("--epochs") == "3");
  CHECK(a.value("--lr") == "0.1");
  CHECK(a.value("--seed", "5") == "5");
  CHECK(a.has("--fast"));
  CHECK(a.has("--lr"));
  CHECK_FALSE(a.has("--slow"));

  const std::string usage =
      "usage: <generator> --name <identifier> --out-dir <folder> [--cuda] [args...]";
  CHECK_THROWS_WITH(parse({"--out-dir", "x"}),
                    Equals("[aot generator] --name is missing or empty; " + usage));
  CHECK_THROWS_WITH(parse({"--name=", "--out-dir", "x"}),
                    Equals("[aot generator] --name is missing or empty; " + usage));
  CHECK_THROWS_WITH(parse({"--name", "n"}),
                    Equals("[aot generator] --out-dir is missing or empty; " + usage));
  CHECK_THROWS_WITH(parse({"--out-dir", "x", "--name"}),
                    Equals("[aot generator] --name needs a value; " + usage));
  const aot::GeneratorArgs b = parse({"--name", "n", "--out-dir", "x", "--epochs"});
  CHECK_THROWS_WITH(b.value("--epochs"),
                    Equals("[aot generator] --epochs needs a value; " + usage));
}

TEST_CASE("generator_main emits the spec under the command line's name and reports errors") {
  const aot_test::TempDir tmp("aot-generator");
  const fs::path& dir = tmp.path();
  const std::string out = (dir / "out").string();
  const char* argv[] = {"gen", "--name", "from_cli", "--out-dir", out.c_str()};
  auto spec = [&](const aot::GeneratorArgs&) {
    aot::AotSpec s = valid_spec(dir);
    s.name = "ignored";
    return s;
  };
  CHECK(aot::generator_main(5, argv, spec) == 0);
  CHECK(fs::exists(dir / "out" / "from_cli.h"));
  CHECK(fs::exists(dir / "out" / "from_cli.cpp"));
  CHECK_FALSE(fs::exists(dir / "ignored.h"));

  auto broken = [&](const aot::GeneratorArgs&) {
    aot::AotSpec s = valid_spec(dir);
    s.out_features = 7;
    return s;
  };
  CHECK(aot::generator_main(5, argv, broken) == 1);
  CHECK(aot::generator_main(1, argv, spec) == 1);
}
