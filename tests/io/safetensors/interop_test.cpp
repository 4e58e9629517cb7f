// Interop with the reference implementation: Python's safetensors package (the one PyTorch uses)
// reads kiln's files, kiln reads its files, and both write the same bytes. Each test WARNs and
// returns where python3 with safetensors and numpy is not installed.

#include "io/safetensors.h"

#include "checkpoint_test_util.h"

#include <catch2/catch.hpp>

#include <cstdlib>
#include <sstream>

using kiln::HostTensor;
using kiln::test::ScratchDir;

namespace {

bool python_safetensors_available() {
  static const bool available =
      std::system("python3 -c 'import safetensors.numpy, numpy' > /dev/null 2>&1") == 0;
  return available;
}

// Runs `script` with python3 and `args`; REQUIREs that it succeeds and shows its stderr if not.
void run_python(const ScratchDir& dir, const std::string& script, const std::string& args) {
  const std::string script_path = dir.file("script.py"), err_path = dir.file("stderr.txt");
  kiln::test::write_file(script_path, script);
  const int rc =
      std::system(("python3 '" + script_path + "' " + args + " 2> '" + err_path + "'").c_str());
  INFO("python stderr:\n" << kiln::test::read_file(err_path));
  REQUIRE(rc == 0);
}

std::string hex_decode(const std::string& token) {
  // Tokens are "h" + hex, so that an empty string is still a token.
  REQUIRE(token.size() % 2 == 1);
  std::string out;
  for (size_t i = 1; i < token.size(); i += 2)
    out += static_cast<char>(std::stoi(token.substr(i, 2), nullptr, 16));
  return out;
}

// What the dump script below saw in a file: tensors rebuilt from its text, and the metadata.
kiln::Safetensors parse_dump(const std::string& text) {
  kiln::Safetensors out;
  std::istringstream lines(text);
  std::string line;
  while (std::getline(lines, line)) {
    std::istringstream in(line);
    std::string kind, name, dtype;
    in >> kind >> name;
    if (kind == "M") {
      std::string value;
      in >> value;
      out.metadata[hex_decode(name)] = hex_decode(value);
      continue;
    }
    REQUIRE(kind == "T");
    HostTensor t;
    size_t ndim = 0, count = 0;
    in >> dtype >> ndim;
    t.shape.resize(ndim);
    for (int64_t& d : t.shape)
      in >> d;
    in >> count;
    std::vector<std::string> values(count);
    for (std::string& v : values)
      in >> v;
    REQUIRE(in);
    // Floats come as float.hex(), which strtod reads back exactly.
    if (dtype == "float32") {
      std::vector<float> f;
      for (const auto& v : values)
        f.push_back(static_cast<float>(std::strtod(v.c_str(), nullptr)));
      t = HostTensor::of<float>(t.shape, f);
    } else if (dtype == "float64") {
      std::vector<double> f;
      for (const auto& v : values)
        f.push_back(std::strtod(v.c_str(), nullptr));
      t = HostTensor::of<double>(t.shape, f);
    } else if (dtype == "int32") {
      std::vector<int32_t> f;
      for (const auto& v : values)
        f.push_back(static_cast<int32_t>(std::stoll(v)));
      t = HostTensor::of<int32_t>(t.shape, f);
    } else {
      REQUIRE(dtype == "int64");
      std::vector<int64_t> f;
      for (const auto& v : values)
        f.push_back(std::stoll(v));
      t = HostTensor::of<int64_t>(t.shape, f);
    }
    out.tensors.emplace(hex_decode(name), std::move(t));
  }
  return out;
}

constexpr const char* kDumpScript = R"(import sys
from safetensors import safe_open
from safetensors.numpy import load_file

path, out = sys.argv[1], sys.argv[2]
tensors = load_file(path)
with safe_open(path, framework="np") as f:
    meta = f.metadata() or {}
h = lambda s: "h" + s.encode("utf-8").hex()
with open(out, "w") as o:
    for k, v in sorted(meta.items()):
        o.write(f"M {h(k)} {h(v)}\n")
    for name, a in sorted(tensors.items()):
        flat = a.reshape(-1)
        vals = [float(x).hex() if a.dtype.kind == "f" else str(int(x)) for x in flat]
        o.write(" ".join(["T", h(name), str(a.dtype), str(a.ndim), *map(str, a.shape),
                          str(a.size), *vals]) + "\n")
)";

} // namespace

TEST_CASE("interop: python's safetensors.numpy.load_file reads what kiln saves") {
  if (!python_safetensors_available()) {
    WARN("python safetensors not available; interop not checked");
    return;
  }
  ScratchDir dir("py-reads");
  const std::map<std::string, HostTensor> tensors = {
      {"w", HostTensor::of<float>({2, 3}, {1.5f, -2.25f, 3e-8f, 1e30f, 0.f, -0.f})},
      {"b", HostTensor::of<double>({}, {0.1})},
      {"labels", HostTensor::of<int32_t>({4}, {INT32_MIN, -1, 0, INT32_MAX})},
      {"step", HostTensor::of<int64_t>({2, 1}, {INT64_MIN, INT64_MAX})},
      {"empty", HostTensor::of<float>({0, 3}, std::vector<float>{})},
      {"naïve \"name\"", HostTensor::of<double>({1, 1, 2}, {-1e-300, 6.02e23})},
  };
  const std::map<std::string, std::string> metadata = {
      {"epoch", "7"}, {"note", "a \"quoted\"\tvalue, é"}, {"", ""}};
  const std::string path = dir.file("kiln.safetensors");
  kiln::save_safetensors(path, tensors, metadata);

  run_python(dir, kDumpScript, "'" + path + "' '" + dir.file("dump.txt") + "'");
  const kiln::Safetensors seen = parse_dump(kiln::test::read_file(dir.file("dump.txt")));
  CHECK(seen.metadata == metadata);
  REQUIRE(seen.tensors.size() == tensors.size());
  for (const auto& [name, t] : tensors) {
    INFO(name);
    REQUIRE(seen.tensors.count(name) == 1);
    const HostTensor& s = seen.tensors.at(name);
    CHECK(s.dtype == t.dtype);
    CHECK(s.shape == t.shape);
    CHECK(s.bytes == t.bytes); // bitwise, so -0.0 and the exact float values count
  }
}

TEST_CASE("interop: kiln reads what python's safetensors.numpy.save_file writes") {
  if (!python_safetensors_available()) {
    WARN("python safetensors not available; interop not checked");
    return;
  }
  ScratchDir dir("kiln-reads");
  const std::string path = dir.file("numpy.safetensors");
  run_python(dir, R"(import sys
import numpy as np
from safetensors.numpy import save_file
save_file({
    "weight": np.arange(12, dtype=np.float32).reshape(3, 4) / 8 - 0.5,
    "bias": np.array([0.1, -0.2], dtype=np.float64),
    "count": np.array(42, dtype=np.int64),
    "ids": np.array([[1, -2, 3]], dtype=np.int32),
    "nothing": np.zeros((2, 0), dtype=np.float64),
}, sys.argv[1], metadata={"framework": "numpy", "epoch": "3"})
)",
             "'" + path + "'");

  const kiln::Safetensors st = kiln::load_safetensors(path);
  CHECK(st.metadata == std::map<std::string, std::string>{{"framework", "numpy"}, {"epoch", "3"}});
  REQUIRE(st.tensors.size() == 5);
  const HostTensor& weight = st.tensors.at("weight");
  CHECK(weight.dtype == kiln::ir::DType::F32);
  CHECK(weight.shape == std::vector<int64_t>{3, 4});
  for (int i = 0; i < 12; ++i)
    CHECK(weight.view<float>()[i] == static_cast<float>(i) / 8.f - 0.5f);
  CHECK(st.tensors.at("bias").to_vector<double>() == std::vector<double>{0.1, -0.2});
  CHECK(st.tensors.at("count").shape.empty());
  CHECK(st.tensors.at("count").to_vector<int64_t>() == std::vector<int64_t>{42});
  CHECK(st.tensors.at("ids").shape == std::vector<int64_t>{1, 3});
  CHECK(st.tensors.at("ids").to_vector<int32_t>() == std::vector<int32_t>{1, -2, 3});
  CHECK(st.tensors.at("nothing").shape == std::vector<int64_t>{2, 0});
  CHECK(st.tensors.at("nothing").dtype == kiln::ir::DType::F64);
}

TEST_CASE("interop: kiln writes the same bytes as the reference writer") {
  if (!python_safetensors_available()) {
    WARN("python safetensors not available; interop not checked");
    return;
  }
  ScratchDir dir("same-bytes");
  const std::string theirs = dir.file("numpy.safetensors"), ours = dir.file("kiln.safetensors");
  // One metadata key: the reference writer keeps metadata in a hash map, so the order of
  // several keys is its own.
  run_python(dir, R"(import sys
import numpy as np
from safetensors.numpy import save_file
save_file({
    "z": np.array([1.5, 2.5], dtype=np.float32),
    "a": np.array([[1, 2, 3]], dtype=np.int32),
    "m": np.array(0.25, dtype=np.float64),
    "k": np.array([7, 8], dtype=np.int64),
    "c": np.zeros((0, 2), dtype=np.float32),
    "q\"\\\n\u00e9": np.array([-1.0], dtype=np.float64),
}, sys.argv[1], metadata={"format": "pt"})
)",
             "'" + theirs + "'");
  kiln::save_safetensors(ours,
                         {{"z", HostTensor::of<float>({2}, {1.5f, 2.5f})},
                          {"a", HostTensor::of<int32_t>({1, 3}, {1, 2, 3})},
                          {"m", HostTensor::of<double>({}, {0.25})},
                          {"k", HostTensor::of<int64_t>({2}, {7, 8})},
                          {"c", HostTensor::of<float>({0, 2}, std::vector<float>{})},
                          {"q\"\\\né", HostTensor::of<double>({1}, {-1.0})}},
                         {{"format", "pt"}});
  CHECK(kiln::test::read_file(ours) == kiln::test::read_file(theirs));
}

TEST_CASE("interop: a float16 tensor from python is rejected by name") {
  if (!python_safetensors_available()) {
    WARN("python safetensors not available; interop not checked");
    return;
  }
  ScratchDir dir("f16");
  const std::string path = dir.file("half.safetensors");
  run_python(dir, R"(import sys
import numpy as np
from safetensors.numpy import save_file
save_file({"h": np.ones(2, dtype=np.float16)}, sys.argv[1])
)",
             "'" + path + "'");
  CHECK(kiln::test::data_error_of([&] { kiln::load_safetensors(path); }) ==
        "[checkpoint] " + path +
            ": tensor 'h': dtype 'F16' is not supported; kiln reads F32, F64, I32 and I64 "
            "(convert the tensor first)");
}
