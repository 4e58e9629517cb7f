// Saving and loading: values, dtypes, shapes and metadata survive a round trip, and the bytes
// on disk follow the safetensors layout exactly.

#include "io/safetensors.h"

#include "checkpoint_test_util.h"

#include <catch2/catch.hpp>

#include <cmath>
#include <limits>

using kiln::HostTensor;
using kiln::ir::DType;
using kiln::test::error_of;
using kiln::test::ScratchDir;

namespace {

std::string bytes_of(const std::vector<unsigned char>& bytes) {
  return {reinterpret_cast<const char*>(bytes.data()), bytes.size()};
}

void require_same(const HostTensor& a, const HostTensor& b) {
  CHECK(a.dtype == b.dtype);
  CHECK(a.shape == b.shape);
  CHECK(a.bytes == b.bytes);
}

} // namespace

TEST_CASE("HostTensor: builds from values and views them back") {
  const std::vector<float> values = {1.5f, -2.f, 3.25f, 0.f, 5.f, 6.f};
  HostTensor t = HostTensor::of<float>({2, 3}, values);
  CHECK(t.dtype == DType::F32);
  CHECK(t.shape == std::vector<int64_t>{2, 3});
  CHECK(t.numel() == 6);
  CHECK(t.bytes.size() == 24);
  CHECK(t.to_vector<float>() == values);

  t.view<float>()[1] = 7.f;
  CHECK(t.to_vector<float>()[1] == 7.f);

  const HostTensor d = HostTensor::of<double>({}, {0.1});
  CHECK(d.numel() == 1);
  CHECK(d.view<double>()[0] == 0.1);
  CHECK(HostTensor::of<int64_t>({2}, {-1, 1LL << 40}).dtype == DType::I64);
  CHECK(HostTensor::of<int32_t>({0, 4}, std::vector<int32_t>{}).bytes.empty());
}

TEST_CASE("HostTensor: numel of huge shapes neither overflows nor wraps") {
  // Found by fuzzing: the reader accepts [2^62, 2^62, 0] (no bytes), and the product of the
  // first two dims overflowed int64_t (undefined behaviour) before the 0 was reached.
  constexpr int64_t k62 = int64_t{1} << 62;
  CHECK(HostTensor{DType::F32, {k62, k62, 0}, {}}.numel() == 0);
  CHECK(HostTensor{DType::F32, {0, k62, k62}, {}}.numel() == 0);
  CHECK(HostTensor{DType::F32, {k62, -1}, {}}.numel() == 0);
  CHECK(HostTensor{DType::F32, {k62, 1}, {}}.numel() == k62);
  // 2^64 wrapped to 0, so a tensor of 2^64 elements looked empty.
  CHECK(error_of([] {
          HostTensor{DType::F32, {k62, 4}, {}}.numel();
        }) == "[HostTensor] shape [4611686018427387904, 4] has more elements than int64_t holds");
  const HostTensor huge{DType::F32, {k62, 4}, {}};
  CHECK_THROWS_AS(huge.view<float>(), kiln::ShapeError);
  // 2^62 doubles fit int64_t but not their bytes in uint64_t.
  ScratchDir dir("numel");
  const std::string path = dir.file("huge.safetensors");
  CHECK(error_of([&] {
          kiln::save_safetensors(path, {{"x", HostTensor{DType::F64, {k62}, {}}}});
        }) == "[checkpoint] " + path + ": cannot write: tensor 'x' is too large: F64 [" +
                  std::to_string(k62) + "]");
}

TEST_CASE("HostTensor: wrong counts and dtypes are ShapeErrors") {
  CHECK(error_of([] {
          HostTensor::of<float>({2, 2}, {1.f, 2.f, 3.f});
        }) == "[HostTensor] shape [2, 2] holds 4 elements, got 3 values");
  const HostTensor t = HostTensor::of<double>({2}, {1.0, 2.0});
  CHECK_THROWS_AS(t.view<float>(), kiln::ShapeError);
  CHECK(error_of([&] { t.view<float>(); }) == "[HostTensor] cannot view a f64 tensor as f32");
  HostTensor short_bytes = t;
  short_bytes.bytes.pop_back();
  CHECK(error_of([&] { short_bytes.to_vector<double>(); }) ==
        "[HostTensor] f64 [2] needs 16 bytes, has 15");
}

TEST_CASE("checkpoint: round trip of every dtype, a scalar, an empty tensor and no metadata") {
  ScratchDir dir("round-trip");
  const std::vector<double> f64 = {std::numeric_limits<double>::min(), -0.0, 1e300,
                                   std::numeric_limits<double>::infinity()};
  std::map<std::string, HostTensor> tensors = {
      {"layer.0.weight", HostTensor::of<float>({2, 3}, {1.f, -2.5f, 3.f, 1e-30f, 5.f, 6.f})},
      {"layer.0.bias", HostTensor::of<float>({3}, {0.1f, 0.2f, 0.3f})},
      {"adam.m", HostTensor::of<double>({2, 2}, f64)},
      {"step", HostTensor::of<int64_t>({}, {123456789012345LL})},
      {"labels", HostTensor::of<int32_t>({2, 1, 2}, {-1, 0, 1, 2147483647})},
      {"empty", HostTensor::of<float>({0, 3}, std::vector<float>{})},
      {"loss", HostTensor::of<double>({}, {std::nan("")})},
  };
  const std::string path = dir.file("model.safetensors");
  kiln::save_safetensors(path, tensors);

  const kiln::Safetensors loaded = kiln::load_safetensors(path);
  CHECK(loaded.metadata.empty());
  REQUIRE(loaded.tensors.size() == tensors.size());
  for (const auto& [name, t] : tensors) {
    INFO(name);
    REQUIRE(loaded.tensors.count(name) == 1);
    require_same(loaded.tensors.at(name), t);
  }
  CHECK(std::isnan(loaded.tensors.at("loss").view<double>()[0]));
  // An empty metadata map writes no "__metadata__" key, as the reference writer does for None.
  CHECK(kiln::test::read_file(path).find("__metadata__") == std::string::npos);
}

TEST_CASE("checkpoint: round trip of metadata and names that need JSON escapes") {
  ScratchDir dir("metadata");
  const std::string odd = "q\"\\\n\t\x01/é€😀";
  const std::map<std::string, std::string> metadata = {
      {"format", "pt"}, {"epoch", "12"}, {"note", odd}, {"", ""}};
  const std::map<std::string, HostTensor> tensors = {{odd, HostTensor::of<float>({1}, {4.f})}};
  const std::string path = dir.file("m.safetensors");
  kiln::save_safetensors(path, tensors, metadata);

  const kiln::Safetensors loaded = kiln::load_safetensors(path);
  CHECK(loaded.metadata == metadata);
  REQUIRE(loaded.tensors.count(odd) == 1);
  CHECK(loaded.tensors.at(odd).to_vector<float>() == std::vector<float>{4.f});
  // serde_json's escapes: short forms where JSON has them, \u00XX for other control characters,
  // everything else (non-ASCII included) as raw UTF-8.
  CHECK(kiln::test::read_file(path).find(R"("q\"\\\n\t\u0001/é€😀")") != std::string::npos);
}

TEST_CASE("checkpoint: a file with no tensors and no metadata is '{}' padded to 8 bytes") {
  ScratchDir dir("empty");
  const std::string path = dir.file("e.safetensors");
  kiln::save_safetensors(path, {});
  CHECK(kiln::test::read_file(path) == kiln::test::size_prefix(8) + "{}      ");
  const kiln::Safetensors loaded = kiln::load_safetensors(path);
  CHECK(loaded.tensors.empty());
  CHECK(loaded.metadata.empty());
}

TEST_CASE("checkpoint: byte-exact layout of a small hand-computed file") {
  ScratchDir dir("layout");
  const std::string path = dir.file("layout.safetensors");
  kiln::save_safetensors(path,
                         {{"w", HostTensor::of<float>({2, 2}, {1.f, 2.f, 3.f, 4.f})},
                          {"b", HostTensor::of<double>({}, {0.5})},
                          {"n", HostTensor::of<int32_t>({3}, {1, -2, 3})},
                          {"k", HostTensor::of<int64_t>({1}, {5})}},
                         {{"epoch", "12"}});

  // Tensors go widest dtype first (I64, F64, F32, I32), so each starts aligned to its element
  // size. The JSON is 249 bytes; 7 spaces pad it to 256 = 0x100.
  const std::string header = R"({"__metadata__":{"epoch":"12"},)"
                             R"("k":{"dtype":"I64","shape":[1],"data_offsets":[0,8]},)"
                             R"("b":{"dtype":"F64","shape":[],"data_offsets":[8,16]},)"
                             R"("w":{"dtype":"F32","shape":[2,2],"data_offsets":[16,32]},)"
                             R"("n":{"dtype":"I32","shape":[3],"data_offsets":[32,44]}})"
                             "       ";
  REQUIRE(header.size() == 256);
  const std::string prefix = bytes_of({0x00, 0x01, 0, 0, 0, 0, 0, 0});
  const std::string data = bytes_of({
      0x05, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, // k: int64 5
      0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xE0, 0x3F, // b: double 0.5
      0x00, 0x00, 0x80, 0x3F, 0x00, 0x00, 0x00, 0x40, // w: float 1, 2
      0x00, 0x00, 0x40, 0x40, 0x00, 0x00, 0x80, 0x40, //    float 3, 4
      0x01, 0x00, 0x00, 0x00, 0xFE, 0xFF, 0xFF, 0xFF, // n: int32 1, -2
      0x03, 0x00, 0x00, 0x00,                         //    int32 3
  });
  const std::string file = kiln::test::read_file(path);
  CHECK(file.substr(0, 8) == prefix);
  CHECK(file.substr(8, 256) == header);
  CHECK(file.substr(8 + 256) == data);
  CHECK(file.size() == 8 + 256 + 44);
}

TEST_CASE("checkpoint: tensors of one dtype are ordered by name, byte-wise") {
  ScratchDir dir("order");
  const std::string path = dir.file("o.safetensors");
  kiln::save_safetensors(path, {{"b", HostTensor::of<float>({1}, {2.f})},
                                {"B", HostTensor::of<float>({1}, {1.f})},
                                {"a", HostTensor::of<float>({1}, {3.f})}});
  const std::string file = kiln::test::read_file(path);
  const size_t upper_b = file.find("\"B\""), a = file.find("\"a\""), b = file.find("\"b\"");
  CHECK(upper_b < a);
  CHECK(a < b);
  CHECK(file.substr(file.size() - 12) == kiln::test::raw_bytes<float>({1.f, 3.f, 2.f}));
}

TEST_CASE("checkpoint: saving over a file replaces it") {
  ScratchDir dir("replace");
  const std::string path = dir.file("c.safetensors");
  kiln::save_safetensors(path, {{"x", HostTensor::of<float>({1}, {1.f})}});
  kiln::save_safetensors(path, {{"y", HostTensor::of<double>({2}, {2.0, 3.0})}});
  const kiln::Safetensors loaded = kiln::load_safetensors(path);
  REQUIRE(loaded.tensors.size() == 1);
  CHECK(loaded.tensors.at("y").to_vector<double>() == std::vector<double>{2.0, 3.0});
}

TEST_CASE("checkpoint: tensors that cannot be saved name the problem") {
  ScratchDir dir("bad-tensors");
  const std::string path = dir.file("bad.safetensors");
  const std::string head = "[checkpoint] " + path + ": cannot write: ";
  auto save = [&](const std::string& name, HostTensor t) {
    return error_of([&] { kiln::save_safetensors(path, {{name, t}}); });
  };
  HostTensor short_bytes = HostTensor::of<float>({2, 2}, {1.f, 2.f, 3.f, 4.f});
  short_bytes.bytes.resize(12);
  CHECK(save("w", short_bytes) == head + "tensor 'w' holds 12 bytes but F32 [2, 2] needs 16");
  CHECK(save("w", HostTensor{DType::F64, {2, -1}, {}}) ==
        head + "tensor 'w' has a negative dimension: F64 [2, -1]");
  CHECK(save("__metadata__", HostTensor::of<float>({}, {1.f})) ==
        head + "'__metadata__' is reserved for the metadata; rename the tensor");
  CHECK(save("bad\xff", HostTensor::of<float>({}, {1.f})) ==
        head + "tensor name 'bad\xff' is not valid UTF-8");
  CHECK(error_of([&] {
          kiln::save_safetensors(path, {}, {{"k\xc0\x80", "v"}});
        }) == head + "metadata key 'k\xc0\x80' is not valid UTF-8");
  CHECK(error_of([&] {
          kiln::save_safetensors(path, {}, {{"k", "\xed\xa0\x80"}});
        }) == head + "metadata value of 'k' is not valid UTF-8");
  // Nothing was written for any of them.
  CHECK(dir.entries().empty());
}
