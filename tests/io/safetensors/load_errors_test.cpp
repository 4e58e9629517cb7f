// Loading checks every rule of the format: each malformed, truncated or unsupported file gets a
// DataError naming the file and the problem. Byte positions in JSON errors count from the first
// byte of the header.

#include "io/safetensors.h"

#include "base/rng.h"
#include "checkpoint_test_util.h"

#include <catch2/catch.hpp>

#include <filesystem>

using kiln::HostTensor;
using kiln::test::data_error_of;
using kiln::test::safetensors_file;
using kiln::test::ScratchDir;
using namespace std::string_literals;

namespace {

// Writes `bytes` to a file in `dir` and returns the message of loading it.
std::string load_error(const ScratchDir& dir, const std::string& bytes) {
  const std::string path = dir.file("ckpt.safetensors");
  kiln::test::write_file(path, bytes);
  return data_error_of([&] { kiln::load_safetensors(path); });
}

// The expected message for the file that load_error() writes.
std::string message(const ScratchDir& dir, const std::string& what) {
  return "[checkpoint] " + dir.file("ckpt.safetensors") + ": " + what;
}

// A header holding one tensor 'w' whose entry is `body`.
std::string one_tensor(const std::string& body) {
  return R"({"w": {)" + body + "}}";
}

} // namespace

TEST_CASE("load: accepts any key order, whitespace, escapes and offsets out of name order") {
  ScratchDir dir("accepts");
  const std::string header =
      "\n{ \"b\" : {\"data_offsets\": [0, 8], \"shape\": [2],\n"
      "           \"dtype\": \"I32\"},\r\n"
      "  \"__metadata__\": {\"k\\/\\u00e9\\ud83d\\ude00\": \"\\\"v\\\"\"},\n"
      "  \"a\\u0041\": {\"dtype\": \"F32\", \"shape\": [1, 1],"
      " \"data_offsets\": [8, 12]},\n"
      "  \"e1\": {\"dtype\": \"F64\", \"shape\": [0], \"data_offsets\": [12, "
      "12]},\n"
      "  \"e0\": {\"dtype\": \"I64\", \"shape\": [3, 0], \"data_offsets\": "
      "[12, 12]}\t} ";
  const std::string path = dir.file("ok.safetensors");
  kiln::test::write_file(path, safetensors_file(header, kiln::test::raw_bytes<int32_t>({7, -8}) +
                                                            kiln::test::raw_bytes<float>({0.5f})));
  const kiln::Safetensors st = kiln::load_safetensors(path);
  CHECK(st.metadata == std::map<std::string, std::string>{{"k/é😀", "\"v\""}});
  REQUIRE(st.tensors.size() == 4);
  CHECK(st.tensors.at("b").to_vector<int32_t>() == std::vector<int32_t>{7, -8});
  CHECK(st.tensors.at("aA").to_vector<float>() == std::vector<float>{0.5f});
  CHECK(st.tensors.at("aA").shape == std::vector<int64_t>{1, 1});
  CHECK(st.tensors.at("e0").shape == std::vector<int64_t>{3, 0});
  CHECK(st.tensors.at("e0").dtype == kiln::ir::DType::I64);
  CHECK(st.tensors.at("e1").bytes.empty());
}

TEST_CASE("load: an empty __metadata__ object is allowed") {
  ScratchDir dir("empty-meta");
  const std::string path = dir.file("m.safetensors");
  kiln::test::write_file(path, safetensors_file(R"({"__metadata__":{}})"));
  const kiln::Safetensors st = kiln::load_safetensors(path);
  CHECK(st.metadata.empty());
  CHECK(st.tensors.empty());
}

TEST_CASE("load: files that cannot be opened") {
  ScratchDir dir("open");
  const std::string missing = dir.file("missing.safetensors");
  CHECK(data_error_of([&] { kiln::load_safetensors(missing); }) ==
        "[checkpoint] " + missing + ": cannot open: No such file or directory");
  CHECK(data_error_of([&] { kiln::load_safetensors(dir.path().string()); }) ==
        "[checkpoint] " + dir.path().string() + ": is a directory, not a safetensors file");
}

TEST_CASE("load: the header size against the file") {
  ScratchDir dir("size");
  CHECK(load_error(dir, "abcde") ==
        message(dir, "file too short for the 8-byte header size: it has 5 bytes"));
  CHECK(load_error(dir, "") ==
        message(dir, "file too short for the 8-byte header size: it has 0 bytes"));
  CHECK(load_error(dir, kiln::test::size_prefix(512) + std::string(92, ' ')) ==
        message(dir, "header says 512 bytes but the file has only 92 after the 8-byte size"));
  CHECK(load_error(dir, kiln::test::size_prefix(100'000'001) + "{}") ==
        message(dir, "header size 100000001 is over the limit of 100000000 bytes"));
  CHECK(load_error(dir, kiln::test::size_prefix(~0ull) + "{}") ==
        message(dir, "header size 18446744073709551615 is over the limit of 100000000 bytes"));
}

TEST_CASE("load: truncated checkpoints") {
  ScratchDir dir("truncated");
  const std::string good = dir.file("good.safetensors");
  kiln::save_safetensors(good, {{"w", HostTensor::of<float>({2, 2}, {1.f, 2.f, 3.f, 4.f})}});
  const std::string bytes = kiln::test::read_file(good);
  const size_t header = bytes.size() - 8 - 16;
  CHECK(load_error(dir, bytes.substr(0, bytes.size() - 3)) ==
        message(dir, kiln::str("the tensors cover 16 bytes of data but the file has 13 after "
                               "the header")));
  CHECK(load_error(dir, bytes.substr(0, 20)) ==
        message(dir, kiln::str("header says ", header,
                               " bytes but the file has only 12 after the 8-byte size")));
  CHECK(load_error(dir, bytes.substr(0, 6)) ==
        message(dir, "file too short for the 8-byte header size: it has 6 bytes"));
}

TEST_CASE("load: header text that is not UTF-8") {
  ScratchDir dir("utf8");
  auto bad = [&](int byte, const std::string& what) {
    return message(dir, kiln::str("bad header JSON at byte ", byte, ": ", what));
  };
  CHECK(load_error(dir, safetensors_file("{\"a\xff\": 1}")) ==
        bad(3, "syntax error while parsing object key - invalid string: ill-formed UTF-8 byte; "
               "last read: '\"a\xff'; expected string literal"));
  // A UTF-8-encoded surrogate (U+D800) is not valid UTF-8 either.
  CHECK(load_error(dir, safetensors_file("{\"\xed\xa0\x80\": 1}")) ==
        bad(3, "syntax error while parsing object key - invalid string: ill-formed UTF-8 byte; "
               "last read: '\"\xed\xa0'; expected string literal"));
}

TEST_CASE("load: malformed header JSON") {
  ScratchDir dir("json");
  auto json_error = [&](const std::string& header) {
    return load_error(dir, safetensors_file(header));
  };
  auto bad = [&](int byte, const std::string& what) {
    return message(dir, kiln::str("bad header JSON at byte ", byte, ": ", what));
  };
  // nlohmann-json checks the syntax; kiln names the file and the byte.
  const std::string key = "syntax error while parsing object key - ";
  const std::string value = "syntax error while parsing value - ";
  CHECK(json_error(R"({"w":{"dtype":"F32")") ==
        bad(19, "syntax error while parsing object - unexpected end of input; expected '}'"));
  CHECK(json_error("") ==
        bad(0, value + "unexpected end of input; expected '[', '{', or a literal"));
  CHECK(json_error(R"({"a": [1, )") ==
        bad(10, value + "unexpected end of input; expected '[', '{', or a literal"));
  CHECK(json_error(R"({"w":{"dt)") ==
        bad(9, key + "invalid string: missing closing quote; last read: '\"dt'; expected string "
                     "literal"));
  CHECK(json_error(R"({"w" {}})") ==
        bad(5, "syntax error while parsing object separator - unexpected '{'; expected ':'"));
  CHECK(json_error("{} x") ==
        bad(3, value + "invalid literal; last read: '{} x'; expected end of input"));
  CHECK(json_error("{}\0\0"s) == bad(2, "a NUL byte, which JSON text never holds"));
  CHECK(json_error("[1, 2]") == bad(0, "the header must be a JSON object, got an array"));
  CHECK(json_error(R"({a: 1})") ==
        bad(1, key + "invalid literal; last read: '{a'; expected string literal"));
  CHECK(json_error(R"({"a": 1,})") == bad(8, key + "unexpected '}'; expected string literal"));
  CHECK(json_error(R"({"a": [1 2]})") ==
        bad(9, "syntax error while parsing array - unexpected number literal; expected ']'"));
  CHECK(json_error(R"({"a": tru})") == bad(9, value + "invalid literal; last read: '\"a\": tru}'"));
  CHECK(json_error(R"({"a": 01})") ==
        bad(7, "syntax error while parsing object - unexpected number literal; expected '}'"));
  CHECK(json_error(R"({"a": -})") ==
        bad(7, value + "invalid number; expected digit after '-'; last read: '-}'"));
  CHECK(json_error(R"({"a": 1.})") ==
        bad(8, value + "invalid number; expected digit after '.'; last read: '1.}'"));
  CHECK(json_error(R"({"a\q": 1})") ==
        bad(4, key + "invalid string: forbidden character after backslash; last read: '\"a\\q'; "
                     "expected string literal"));
  CHECK(json_error(R"({"a\)") ==
        bad(4, key + "invalid string: forbidden character after backslash; last read: '\"a\\'; "
                     "expected string literal"));
  CHECK(json_error(R"({"\u12)") ==
        bad(6, key + "invalid string: '\\u' must be followed by 4 hex digits; last read: "
                     "'\"\\u12'; expected string literal"));
  CHECK(json_error("{\"a\nb\": 1}") ==
        bad(3, key + "invalid string: control character U+000A (LF) must be escaped to \\u000A "
                     "or \\n; last read: '\"a<U+000A>'; expected string literal"));
  CHECK(json_error(R"({"\u00g0": 1})") ==
        bad(6, key + "invalid string: '\\u' must be followed by 4 hex digits; last read: "
                     "'\"\\u00g'; expected string literal"));
  CHECK(json_error(R"({"\ud800": 1})") ==
        bad(8, key + "invalid string: surrogate U+D800..U+DBFF must be followed by "
                     "U+DC00..U+DFFF; last read: '\"\\ud800\"'; expected string literal"));
  CHECK(json_error(R"({"\udc00": 1})") ==
        bad(7, key + "invalid string: surrogate U+DC00..U+DFFF must follow U+D800..U+DBFF; "
                     "last read: '\"\\udc00'; expected string literal"));
  // The rules of the reference reader that JSON itself does not have.
  CHECK(json_error(R"({"a": 1, "a": 2})") == bad(11, "duplicate key 'a'"));
  CHECK(json_error(R"({"w": {"dtype": "F32", "dtype": "F32"}})") ==
        bad(29, "duplicate key 'dtype'"));
  CHECK(json_error(R"({"a":)" + std::string(100, '[')) ==
        bad(69, "values nested deeper than 64 levels"));
  // Text echoed from the file is cut short: a hostile header may hold a 100 MB string.
  CHECK(json_error("{\"" + std::string(1000, 'x')) ==
        bad(1002, key + "invalid string: missing closing quote; last read: '\"" +
                      std::string(60, 'x') + "...'; expected string literal"));
}

TEST_CASE("load: __metadata__ must map strings to strings") {
  ScratchDir dir("metadata");
  CHECK(load_error(dir, safetensors_file(R"({"__metadata__": []})")) ==
        message(dir, "'__metadata__' must be an object, got an array"));
  CHECK(load_error(dir, safetensors_file(R"({"__metadata__": {"epoch": 3}})")) ==
        message(dir, "'__metadata__' must map strings to strings, but 'epoch' is 3"));
  CHECK(load_error(dir, safetensors_file(R"({"__metadata__": {"ok": null}})")) ==
        message(dir, "'__metadata__' must map strings to strings, but 'ok' is null"));
}

TEST_CASE("load: tensor entries with missing, unknown or wrong fields") {
  ScratchDir dir("entries");
  auto entry_error = [&](const std::string& body, const std::string& data = "") {
    return load_error(dir, safetensors_file(one_tensor(body), data));
  };
  auto tensor = [&](const std::string& what) { return message(dir, "tensor 'w': " + what); };
  CHECK(load_error(dir, safetensors_file(R"({"w": [1]})")) ==
        tensor("expected an object with dtype, shape and data_offsets, got an array"));
  CHECK(entry_error(R"("dtype": "F32", "shape": [1])") == tensor("missing 'data_offsets'"));
  CHECK(entry_error(R"("shape": [1], "data_offsets": [0, 4])") == tensor("missing 'dtype'"));
  CHECK(entry_error(R"("dtype": "F32", "shape": [1], "offsets": [0, 4])") ==
        tensor("unknown key 'offsets' (expected dtype, shape and data_offsets)"));
  CHECK(entry_error(R"("dtype": 4, "shape": [1], "data_offsets": [0, 4])") ==
        tensor("dtype must be a string, got 4"));
  CHECK(entry_error(R"("dtype": "F32", "shape": 4, "data_offsets": [0, 4])") ==
        tensor("shape must be an array of non-negative integers, got 4"));
  CHECK(entry_error(R"("dtype": "F32", "shape": [2, -1], "data_offsets": [0, 4])") ==
        tensor("shape entry 1 must be a non-negative integer below 2^63, got -1"));
  CHECK(entry_error(R"("dtype": "F32", "shape": [2.0], "data_offsets": [0, 8])") ==
        tensor("shape entry 0 must be a non-negative integer below 2^63, got 2.0"));
  CHECK(entry_error(R"("dtype": "F32", "shape": [1e1], "data_offsets": [0, 40])") ==
        tensor("shape entry 0 must be a non-negative integer below 2^63, got 1e1"));
  CHECK(entry_error(R"("dtype": "F32", "shape": ["2"], "data_offsets": [0, 8])") ==
        tensor("shape entry 0 must be a non-negative integer below 2^63, got '2'"));
  CHECK(entry_error(R"("dtype": "F32", "shape": [9223372036854775808], "data_offsets": [0, 4])") ==
        tensor("shape entry 0 must be a non-negative integer below 2^63, got 9223372036854775808"));
  CHECK(entry_error(R"("dtype": "F32", "shape": [1], "data_offsets": [0, 99999999999999999999])") ==
        tensor("data_offsets entry 1 must be a non-negative integer below 2^63, got "
               "99999999999999999999"));
  CHECK(
      entry_error(R"("dtype": "F32", "shape": [4294967296, 4294967296], "data_offsets": [0, 4])") ==
      tensor("F32 [4294967296, 4294967296] is too large"));
  CHECK(entry_error(R"("dtype": "F64", "shape": [2305843009213693952], "data_offsets": [0, 4])") ==
        tensor("F64 [2305843009213693952] is too large"));
  CHECK(entry_error(R"("dtype": "F32", "shape": [1], "data_offsets": "0-4")") ==
        tensor("data_offsets must be an array of non-negative integers, got '0-4'"));
  CHECK(entry_error(R"("dtype": "F32", "shape": [1], "data_offsets": [0, 4, 8])") ==
        tensor("data_offsets must be [begin, end], got 3 entries"));
  CHECK(entry_error(R"("dtype": "F32", "shape": [1], "data_offsets": [8, 4])") ==
        tensor("data_offsets [8, 4] end before they begin"));
  CHECK(entry_error(R"("dtype": "F32", "shape": [2, 2], "data_offsets": [0, 12])",
                    std::string(12, '\0')) ==
        tensor("data_offsets [0, 12] do not match F32 [2, 2] (16 bytes)"));
  CHECK(
      entry_error(R"("dtype": "I64", "shape": [], "data_offsets": [0, 4])", std::string(4, '\0')) ==
      tensor("data_offsets [0, 4] do not match I64 [] (8 bytes)"));
}

TEST_CASE("load: dtypes kiln does not know or does not support") {
  ScratchDir dir("dtypes");
  auto dtype_error = [&](const std::string& dtype) {
    return load_error(dir,
                      safetensors_file(one_tensor(R"("dtype": ")" + dtype +
                                                  R"(", "shape": [1], "data_offsets": [0, 2])"),
                                       "\0\0"));
  };
  auto unsupported = [&](const std::string& dtype) {
    return message(dir, "tensor 'w': dtype '" + dtype +
                            "' is not supported; kiln reads F32, F64, I32 and I64 (convert the "
                            "tensor first)");
  };
  CHECK(dtype_error("Q8") == message(dir, "tensor 'w': unknown dtype 'Q8'"));
  CHECK(dtype_error("f32") == message(dir, "tensor 'w': unknown dtype 'f32'"));
  // Text from the file is cut short in messages.
  CHECK(dtype_error(std::string(100, 'X')) ==
        message(dir, "tensor 'w': unknown dtype '" + std::string(61, 'X') + "...'"));
  for (std::string dtype : {"BF16", "F16", "BOOL", "U8", "I8", "I16", "U16", "U32", "U64"}) {
    INFO(dtype);
    CHECK(dtype_error(dtype) == unsupported(dtype));
  }
}

TEST_CASE("load: data_offsets must tile the data exactly") {
  ScratchDir dir("tiling");
  auto file = [&](const std::string& header, size_t data_bytes) {
    return load_error(dir, safetensors_file(header, std::string(data_bytes, '\0')));
  };
  const std::string a = R"("a": {"dtype": "F32", "shape": [1], "data_offsets": )";
  const std::string b = R"("b": {"dtype": "F32", "shape": [1], "data_offsets": )";
  CHECK(file("{" + a + "[0, 4]}, " + b + "[8, 12]}}", 12) ==
        message(dir, "tensor 'b': data_offsets [8, 12] leave bytes [4, 8) of the data unused"));
  CHECK(file("{" + a + "[4, 8]}}", 8) ==
        message(dir, "tensor 'a': data_offsets [4, 8] leave bytes [0, 4) of the data unused"));
  CHECK(file(R"({"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}, )"
             R"("b": {"dtype": "F32", "shape": [2], "data_offsets": [4, 12]}})",
             12) == message(dir, "tensor 'b': data_offsets [4, 12] overlap tensor 'a' at [0, 8]"));
  // Two names for the same bytes: the aliasing that duplicate-tolerant readers fall for.
  CHECK(file("{" + b + "[0, 4]}, " + a + "[0, 4]}}", 4) ==
        message(dir, "tensor 'b': data_offsets [0, 4] overlap tensor 'a' at [0, 4]"));
  CHECK(file("{" + a + "[0, 4]}}", 8) ==
        message(dir, "the tensors cover 4 bytes of data but the file has 8 after the header"));
  CHECK(file("{}", 3) ==
        message(dir, "the tensors cover 0 bytes of data but the file has 3 after the header"));
}

TEST_CASE("load: random corruption either loads or throws DataError, never anything else") {
  ScratchDir dir("fuzz");
  const std::string good = dir.file("good.safetensors");
  kiln::save_safetensors(good,
                         {{"w", HostTensor::of<float>({2, 2}, {1.f, 2.f, 3.f, 4.f})},
                          {"step", HostTensor::of<int64_t>({}, {9})},
                          {"e", HostTensor::of<double>({0}, std::vector<double>{})}},
                         {{"epoch", "3"}});
  const std::string bytes = kiln::test::read_file(good);
  const std::string path = dir.file("ckpt.safetensors");
  kiln::Rng rng(20240611);
  int rejected = 0;
  for (int round = 0; round < 2000; ++round) {
    std::string bad = bytes;
    // Overwrite 1 to 3 bytes, mostly inside the header, with bytes JSON cares about or anything.
    const std::string_view interesting = "{}[]\":,\\0123456789-.eE \x80\xff";
    for (uint32_t k = 0, n = 1 + rng.below(3); k < n; ++k) {
      const uint32_t at = rng.below(static_cast<uint32_t>(bad.size()));
      bad[at] = rng.below(2) ? interesting[rng.below(static_cast<uint32_t>(interesting.size()))]
                             : static_cast<char>(rng.below(256));
    }
    if (rng.below(4) == 0)
      bad.resize(rng.below(static_cast<uint32_t>(bad.size())));
    kiln::test::write_file(path, bad);
    INFO("round " << round);
    try {
      kiln::load_safetensors(path);
    } catch (const kiln::DataError& e) {
      ++rejected;
      CHECK_THAT(e.what(), Catch::Matchers::StartsWith("[checkpoint] " + path + ": "));
    }
  }
  // Most corruptions must be caught; the rest changed a value's bytes or a metadata letter.
  CHECK(rejected > 1000);
}
