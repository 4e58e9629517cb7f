#include "io/safetensors.h"

#include <algorithm>
#include <atomic>
#include <bit>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <filesystem>
#include <optional>
#include <set>
#include <string_view>
#include <tuple>
#include <utility>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "base/atomic_file.h"

namespace kiln {

static_assert(std::endian::native == std::endian::little,
              "safetensors stores little-endian bytes; kiln copies them as they are");

std::string HostTensor::shape_text(const std::vector<int64_t>& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i)
    s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

namespace {

// The reference reader refuses larger headers, so a file kiln accepts is one PyTorch accepts.
constexpr uint64_t kMaxHeaderBytes = 100'000'000;
constexpr int kMaxJsonDepth = 64;

// Indexed by ir::DType: F32, F64, I32, I64.
constexpr std::string_view kDtypeNames[] = {"F32", "F64", "I32", "I64"};
// The reference writer orders tensors by this rank, descending, then by name.
constexpr int kDtypeRanks[] = {1, 2, 0, 3};

std::string_view dtype_name(ir::DType t) {
  return kDtypeNames[static_cast<int>(t)];
}

// `s` as a JSON string, escaped as serde_json (the reference writer) escapes it, so kiln's
// headers match the reference writer's byte for byte; nullopt when `s` is not valid UTF-8
// (overlong forms and surrogates included, as Rust's from_utf8 rejects them).
std::optional<std::string> json_string(std::string_view s) {
  try {
    return nlohmann::json(std::string(s)).dump();
  } catch (const nlohmann::json::type_error&) {
    return std::nullopt;
  }
}

// ---- reading: a strict JSON parser for the header ----

struct Json {
  enum class Kind { Null, Bool, Number, String, Array, Object };
  Kind kind = Kind::Null;
  std::string text;              // a string's value; a number's or literal's spelling
  std::vector<std::string> keys; // an object's keys, in file order
  std::vector<Json> items;       // an array's items or an object's values
};

// File text echoed in a message, cut short: a hostile header may hold a 100 MB string.
std::string excerpt(const std::string& text) {
  return text.size() > 64 ? text.substr(0, 61) + "..." : text;
}

// How a value reads in a message: numbers and literals as written, strings quoted.
std::string describe(const Json& v) {
  if (v.kind == Json::Kind::String)
    return "'" + excerpt(v.text) + "'";
  if (v.kind == Json::Kind::Array)
    return "an array";
  if (v.kind == Json::Kind::Object)
    return "an object";
  return excerpt(v.text);
}

// A non-negative integer without fraction or exponent, as the reference reader's usize fields.
std::optional<uint64_t> as_uint(const Json& v) {
  uint64_t out = 0;
  const char* end = v.text.data() + v.text.size();
  auto [p, ec] = std::from_chars(v.text.data(), end, out);
  if (v.kind != Json::Kind::Number || ec != std::errc() || p != end)
    return std::nullopt;
  return out;
}

/**
 * Builds a Json tree from nlohmann's SAX events. nlohmann checks the syntax, UTF-8 and the
 * escapes; this keeps what its DOM would lose (numbers as written, keys in file order) and adds
 * the rules of the reference reader: no duplicate keys, and no deeper nesting than kMaxJsonDepth
 * (a 100 MB header of '[' would otherwise build a tree of 100 million nodes).
 */
class HeaderBuilder : public nlohmann::json_sax<nlohmann::json> {
public:
  /** `read` says how many bytes the parser has taken so far (see CountingIterator). */
  HeaderBuilder(const std::string& path, const size_t& read) : path_(path), read_(read) {}

  Json root;

  bool null() override { return put({Json::Kind::Null, "null", {}, {}}); }
  bool boolean(bool v) override { return put({Json::Kind::Bool, v ? "true" : "false", {}, {}}); }
  bool number_integer(number_integer_t v) override {
    return put({Json::Kind::Number, std::to_string(v), {}, {}});
  }
  bool number_unsigned(number_unsigned_t v) override {
    return put({Json::Kind::Number, std::to_string(v), {}, {}});
  }
  bool number_float(number_float_t, const string_t& spelling) override {
    return put({Json::Kind::Number, spelling, {}, {}});
  }
  bool string(string_t& v) override { return put({Json::Kind::String, v, {}, {}}); }
  bool binary(binary_t&) override { return fail("binary values are not JSON"); }
  bool start_object(std::size_t) override { return open(Json::Kind::Object); }
  bool key(string_t& k) override {
    if (!keys_.back().insert(k).second)
      fail("duplicate key '" + excerpt(k) + "'");
    open_.back().keys.push_back(k);
    return true;
  }
  bool end_object() override { return close(); }
  bool start_array(std::size_t) override { return open(Json::Kind::Array); }
  bool end_array() override { return close(); }
  bool parse_error(std::size_t position, const std::string& token,
                   const nlohmann::detail::exception& e) override {
    // nlohmann says "[json.exception.parse_error.101] parse error at line 1, column 11: what";
    // the file and the byte say where, so keep only what.
    std::string what = e.what();
    if (const size_t colon = what.find(": "); colon != std::string::npos)
      what = what.substr(colon + 2);
    // It echoes the token it was reading, which a hostile header can make 100 MB long.
    if (const size_t at = what.find("last read: '" + token);
        token.size() > 64 && at != std::string::npos)
      what.replace(at + 12, token.size(), excerpt(token));
    throw DataError(str("[checkpoint] ", path_, ": bad header JSON at byte ",
                        position > 0 ? position - 1 : 0, ": ", what));
  }

private:
  // The parser calls key() and start_*() right after the token's last byte.
  [[noreturn]] bool fail(const std::string& why) const {
    throw DataError(
        str("[checkpoint] ", path_, ": bad header JSON at byte ", read_ - 1, ": ", why));
  }
  bool open(Json::Kind kind) {
    if (open_.size() > kMaxJsonDepth) // the root, then kMaxJsonDepth levels
      fail(str("values nested deeper than ", kMaxJsonDepth, " levels"));
    open_.push_back({kind, "", {}, {}});
    keys_.emplace_back();
    return true;
  }
  bool close() {
    Json done = std::move(open_.back());
    open_.pop_back();
    keys_.pop_back();
    return put(std::move(done));
  }
  bool put(Json v) {
    if (open_.empty())
      root = std::move(v);
    else
      open_.back().items.push_back(std::move(v));
    return true;
  }

  const std::string& path_;
  const size_t& read_;
  std::vector<Json> open_;                  // the arrays and objects being read, outermost first
  std::vector<std::set<std::string>> keys_; // the keys each of them has
};

/** Walks the header's bytes and counts how far the parser has read, for messages. */
struct CountingIterator {
  using iterator_category = std::input_iterator_tag;
  using value_type = char;
  using difference_type = std::ptrdiff_t;
  using pointer = const char*;
  using reference = const char&;

  const char* p;
  const char* begin;
  size_t* read;

  reference operator*() const { return *p; }
  CountingIterator& operator++() {
    *read = static_cast<size_t>(++p - begin);
    return *this;
  }
  bool operator==(const CountingIterator& o) const { return p == o.p; }
  bool operator!=(const CountingIterator& o) const { return p != o.p; }
};

/** The header as a Json object; throws DataError naming the file for anything else. */
Json parse_header(const std::string& text, const std::string& path) {
  // nlohmann stops at a NUL as at the end of the text; JSON text never holds one.
  if (const size_t nul = text.find('\0'); nul != std::string::npos)
    throw DataError(str("[checkpoint] ", path, ": bad header JSON at byte ", nul,
                        ": a NUL byte, which JSON text never holds"));
  size_t read = 0;
  HeaderBuilder builder(path, read);
  const char* b = text.data();
  nlohmann::json::sax_parse(CountingIterator{b, b, &read},
                            CountingIterator{b + text.size(), b, &read}, &builder,
                            nlohmann::json::input_format_t::json, true);
  if (builder.root.kind != Json::Kind::Object)
    throw DataError(str("[checkpoint] ", path,
                        ": bad header JSON at byte 0: the header must be "
                        "a JSON object, got ",
                        describe(builder.root)));
  return builder.root;
}

// ---- writing ----

[[noreturn]] void write_fail(const std::string& path, const std::string& why) {
  throw Error(str("[checkpoint] ", path, ": cannot write: ", why));
}

void check_for_saving(const std::string& path, const std::map<std::string, HostTensor>& tensors,
                      const std::map<std::string, std::string>& metadata) {
  for (const auto& [key, value] : metadata) {
    if (!json_string(key))
      write_fail(path, "metadata key '" + key + "' is not valid UTF-8");
    if (!json_string(value))
      write_fail(path, "metadata value of '" + key + "' is not valid UTF-8");
  }
  for (const auto& [name, t] : tensors) {
    if (name == "__metadata__")
      write_fail(path, "'__metadata__' is reserved for the metadata; rename the tensor");
    if (!json_string(name))
      write_fail(path, "tensor name '" + name + "' is not valid UTF-8");
    const std::string what = str(dtype_name(t.dtype), " ", HostTensor::shape_text(t.shape));
    if (std::any_of(t.shape.begin(), t.shape.end(), [](int64_t d) { return d < 0; }))
      write_fail(path, str("tensor '", name, "' has a negative dimension: ", what));
    uint64_t need = 0;
    if (__builtin_mul_overflow(static_cast<uint64_t>(t.numel()), ir::dtype_bytes(t.dtype), &need))
      write_fail(path, str("tensor '", name, "' is too large: ", what));
    if (t.bytes.size() != need)
      write_fail(path, str("tensor '", name, "' holds ", t.bytes.size(), " bytes but ", what,
                           " needs ", need));
  }
}

} // namespace

void save_safetensors(const std::string& path, const std::map<std::string, HostTensor>& tensors,
                      const std::map<std::string, std::string>& metadata) {
  check_for_saving(path, tensors, metadata);

  // Widest elements first: with the header padded to 8 bytes every tensor starts aligned.
  std::vector<std::pair<const std::string*, const HostTensor*>> order;
  for (const auto& [name, t] : tensors)
    order.emplace_back(&name, &t);
  std::sort(order.begin(), order.end(), [](const auto& a, const auto& b) {
    const int ra = kDtypeRanks[static_cast<int>(a.second->dtype)],
              rb = kDtypeRanks[static_cast<int>(b.second->dtype)];
    return ra != rb ? ra > rb : *a.first < *b.first;
  });

  std::string header = "{";
  if (!metadata.empty()) {
    header += "\"__metadata__\":{";
    for (const auto& [key, value] : metadata) {
      if (header.back() != '{')
        header += ',';
      header += *json_string(key) + ':' + *json_string(value);
    }
    header += '}';
  }
  uint64_t offset = 0;
  for (const auto& [name, t] : order) {
    if (header.size() > 1)
      header += ',';
    header += *json_string(*name);
    header += str(":{\"dtype\":\"", dtype_name(t->dtype), "\",\"shape\":[");
    for (size_t i = 0; i < t->shape.size(); ++i)
      header += str(i ? "," : "", t->shape[i]);
    header += str("],\"data_offsets\":[", offset, ",", offset + t->bytes.size(), "]}");
    offset += t->bytes.size();
  }
  header += '}';
  header.append((8 - header.size() % 8) % 8, ' ');

  unsigned char size_prefix[8];
  for (int i = 0; i < 8; ++i)
    size_prefix[i] = static_cast<unsigned char>(static_cast<uint64_t>(header.size()) >> (8 * i));

  AtomicFile out(path, {.prefix = "[checkpoint] "});
  out.write(size_prefix, sizeof size_prefix);
  out.write(header.data(), header.size());
  for (const auto& [name, t] : order)
    out.write(t->bytes.data(), t->bytes.size());
  out.commit();
}

// ---- reading: the checks on the parsed header ----

namespace {

[[noreturn]] void data_fail(const std::string& path, const std::string& why) {
  throw DataError(str("[checkpoint] ", path, ": ", why));
}

[[noreturn]] void tensor_fail(const std::string& path, const std::string& name,
                              const std::string& why) {
  data_fail(path, "tensor '" + name + "': " + why);
}

struct Entry {
  std::string name;
  ir::DType dtype;
  std::vector<int64_t> shape;
  uint64_t begin, end;
};

ir::DType parse_dtype(const std::string& path, const std::string& name, const Json& v) {
  auto fail = [&](const std::string& why) { tensor_fail(path, name, why); };
  if (v.kind != Json::Kind::String)
    fail("dtype must be a string, got " + describe(v));
  for (ir::DType t : {ir::DType::F32, ir::DType::F64, ir::DType::I32, ir::DType::I64})
    if (v.text == dtype_name(t))
      return t;
  // Every other dtype the safetensors format defines.
  for (std::string_view other : {"BOOL", "U8", "I8", "F8_E5M2", "F8_E4M3", "F8_E8M0", "I16", "U16",
                                 "F16", "BF16", "U32", "U64", "F4", "F6_E2M3", "F6_E3M2", "C64"})
    if (v.text == other)
      fail("dtype '" + v.text +
           "' is not supported; kiln reads F32, F64, I32 and I64 (convert the tensor first)");
  tensor_fail(path, name, "unknown dtype " + describe(v));
}

std::vector<uint64_t> parse_uints(const std::string& path, const std::string& name,
                                  const char* field, const Json& v) {
  auto fail = [&](const std::string& why) { tensor_fail(path, name, why); };
  if (v.kind != Json::Kind::Array)
    fail(str(field, " must be an array of non-negative integers, got ", describe(v)));
  std::vector<uint64_t> out;
  for (size_t i = 0; i < v.items.size(); ++i) {
    const auto u = as_uint(v.items[i]);
    if (!u || *u > static_cast<uint64_t>(INT64_MAX))
      fail(str(field, " entry ", i, " must be a non-negative integer below 2^63, got ",
               describe(v.items[i])));
    out.push_back(*u);
  }
  return out;
}

Entry parse_entry(const std::string& path, const std::string& name, const Json& v) {
  auto fail = [&](const std::string& why) { tensor_fail(path, name, why); };
  if (v.kind != Json::Kind::Object)
    fail("expected an object with dtype, shape and data_offsets, got " + describe(v));
  const Json* fields[3] = {nullptr, nullptr, nullptr};
  constexpr const char* kFields[3] = {"dtype", "shape", "data_offsets"};
  for (size_t i = 0; i < v.keys.size(); ++i) {
    const auto* f = std::find(std::begin(kFields), std::end(kFields), v.keys[i]);
    if (f == std::end(kFields))
      fail("unknown key '" + v.keys[i] + "' (expected dtype, shape and data_offsets)");
    fields[f - kFields] = &v.items[i];
  }
  for (int i = 0; i < 3; ++i)
    if (fields[i] == nullptr)
      fail(str("missing '", kFields[i], "'"));

  Entry e{name, parse_dtype(path, name, *fields[0]), {}, 0, 0};
  uint64_t numel = 1;
  for (uint64_t d : parse_uints(path, name, "shape", *fields[1])) {
    e.shape.push_back(static_cast<int64_t>(d));
    if (__builtin_mul_overflow(numel, d, &numel))
      numel = UINT64_MAX;
  }
  const std::vector<uint64_t> offsets = parse_uints(path, name, "data_offsets", *fields[2]);
  if (offsets.size() != 2)
    fail(str("data_offsets must be [begin, end], got ", offsets.size(), " entries"));
  e.begin = offsets[0];
  e.end = offsets[1];
  const std::string range = str("data_offsets [", e.begin, ", ", e.end, "]");
  if (e.end < e.begin)
    fail(range + " end before they begin");
  uint64_t bytes = 0;
  const std::string what = str(dtype_name(e.dtype), " ", HostTensor::shape_text(e.shape));
  if (numel == UINT64_MAX || __builtin_mul_overflow(numel, ir::dtype_bytes(e.dtype), &bytes))
    fail(what + " is too large");
  if (e.end - e.begin != bytes)
    fail(str(range, " do not match ", what, " (", bytes, " bytes)"));
  return e;
}

// The reference reader's rule: sorted by offset, the ranges tile [0, data_size) exactly.
void check_tiling(const std::string& path, std::vector<Entry>& entries, uint64_t data_size) {
  std::sort(entries.begin(), entries.end(), [](const Entry& a, const Entry& b) {
    return std::tie(a.begin, a.end, a.name) < std::tie(b.begin, b.end, b.name);
  });
  uint64_t covered = 0;
  const Entry* previous = nullptr;
  for (const Entry& e : entries) {
    const std::string head =
        str("tensor '", e.name, "': data_offsets [", e.begin, ", ", e.end, "]");
    if (e.begin > covered)
      data_fail(path, str(head, " leave bytes [", covered, ", ", e.begin, ") of the data unused"));
    if (e.begin < covered)
      data_fail(path, str(head, " overlap tensor '", previous->name, "' at [", previous->begin,
                          ", ", previous->end, "]"));
    covered = e.end;
    previous = &e;
  }
  if (covered != data_size)
    data_fail(path, str("the tensors cover ", covered, " bytes of data but the file has ",
                        data_size, " after the header"));
}

class InputFile {
public:
  explicit InputFile(const std::string& path) : path_(path) {
    fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd_ < 0)
      data_fail(path, str("cannot open: ", std::strerror(errno)));
    struct stat st {};
    if (::fstat(fd_, &st) != 0)
      data_fail(path, str("cannot open: ", std::strerror(errno)));
    if (S_ISDIR(st.st_mode))
      data_fail(path, "is a directory, not a safetensors file");
    size_ = static_cast<uint64_t>(st.st_size);
  }
  InputFile(const InputFile&) = delete;
  InputFile& operator=(const InputFile&) = delete;
  ~InputFile() { ::close(fd_); }

  uint64_t size() const { return size_; }

  void read(void* out, size_t n, uint64_t offset) const {
    auto* p = static_cast<char*>(out);
    while (n > 0) {
      const ssize_t got = ::pread(fd_, p, n, static_cast<off_t>(offset));
      if (got < 0 && errno == EINTR)
        continue;
      if (got < 0)
        data_fail(path_, str("cannot read: ", std::strerror(errno)));
      if (got == 0)
        data_fail(path_, "cannot read: the file became shorter while reading it");
      p += got;
      n -= static_cast<size_t>(got);
      offset += static_cast<uint64_t>(got);
    }
  }

private:
  std::string path_;
  int fd_ = -1;
  uint64_t size_ = 0;
};

} // namespace

Safetensors load_safetensors(const std::string& path) {
  const InputFile file(path);
  if (file.size() < 8)
    data_fail(path,
              str("file too short for the 8-byte header size: it has ", file.size(), " bytes"));
  unsigned char size_prefix[8];
  file.read(size_prefix, 8, 0);
  uint64_t n = 0;
  for (int i = 7; i >= 0; --i)
    n = n << 8 | size_prefix[i];
  if (n > kMaxHeaderBytes)
    data_fail(path, str("header size ", n, " is over the limit of ", kMaxHeaderBytes, " bytes"));
  if (n > file.size() - 8)
    data_fail(path, str("header says ", n, " bytes but the file has only ", file.size() - 8,
                        " after the 8-byte size"));
  std::string header(n, '\0');
  file.read(header.data(), n, 8);
  const Json root = parse_header(header, path);
  Safetensors out;
  std::vector<Entry> entries;
  for (size_t i = 0; i < root.keys.size(); ++i) {
    const Json& v = root.items[i];
    if (root.keys[i] != "__metadata__") {
      entries.push_back(parse_entry(path, root.keys[i], v));
      continue;
    }
    if (v.kind != Json::Kind::Object)
      data_fail(path, "'__metadata__' must be an object, got " + describe(v));
    for (size_t k = 0; k < v.keys.size(); ++k) {
      if (v.items[k].kind != Json::Kind::String)
        data_fail(path, str("'__metadata__' must map strings to strings, but '", v.keys[k], "' is ",
                            describe(v.items[k])));
      out.metadata[v.keys[k]] = v.items[k].text;
    }
  }
  const uint64_t data_start = 8 + n;
  check_tiling(path, entries, file.size() - data_start);

  for (const Entry& e : entries) {
    HostTensor t{e.dtype, e.shape, std::vector<std::byte>(e.end - e.begin)};
    file.read(t.bytes.data(), t.bytes.size(), data_start + e.begin);
    out.tensors.emplace(e.name, std::move(t));
  }
  return out;
}

} // namespace kiln
