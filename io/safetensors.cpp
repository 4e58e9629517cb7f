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

constexpr const char* kHex = "0123456789abcdef";
// The characters JSON escapes with a letter, and those letters.
constexpr std::string_view kEscaped = "\"\\\b\f\n\r\t", kEscapeLetters = "\"\\bfnrt";

// Indexed by ir::DType: F32, F64, I32, I64.
constexpr std::string_view kDtypeNames[] = {"F32", "F64", "I32", "I64"};
// The reference writer orders tensors by this rank, descending, then by name.
constexpr int kDtypeRanks[] = {1, 2, 0, 3};

std::string_view dtype_name(ir::DType t) {
  return kDtypeNames[static_cast<int>(t)];
}

// The byte offset of the first invalid UTF-8 sequence (overlong forms and surrogates
// included, as Rust's from_utf8 rejects them), or npos.
size_t utf8_error(std::string_view s) {
  for (size_t i = 0; i < s.size();) {
    const auto c = static_cast<unsigned char>(s[i]);
    const int n = c < 0x80             ? 0
                  : (c & 0xE0) == 0xC0 ? 1
                  : (c & 0xF0) == 0xE0 ? 2
                  : (c & 0xF8) == 0xF0 ? 3
                                       : -1; // continuation bytes that follow
    if (n < 0 || i + n >= s.size())
      return i;
    uint32_t cp = c & (0x7Fu >> n);
    for (int k = 1; k <= n; ++k) {
      const auto b = static_cast<unsigned char>(s[i + k]);
      if ((b & 0xC0) != 0x80)
        return i;
      cp = cp << 6 | (b & 0x3Fu);
    }
    constexpr uint32_t kMinCodePoint[] = {0, 0x80, 0x800, 0x10000};
    if (cp < kMinCodePoint[n] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
      return i;
    i += static_cast<size_t>(n) + 1;
  }
  return std::string_view::npos;
}

// Escapes as serde_json does, so kiln's headers match the reference writer's byte for byte.
void append_json_string(std::string& out, std::string_view s) {
  out += '"';
  for (char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    if (const size_t k = kEscaped.find(ch); k != std::string_view::npos)
      out += '\\', out += kEscapeLetters[k];
    else if (c < 0x20)
      out += "\\u00", out += kHex[c >> 4], out += kHex[c & 15];
    else
      out += ch;
  }
  out += '"';
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

class JsonParser {
public:
  JsonParser(std::string_view text, const std::string& path) : text_(text), path_(path) {}

  // The whole header: one object, then nothing but JSON whitespace (the writer pads with spaces).
  Json parse_header() {
    skip_space();
    if (peek() != '{')
      fail("the header must be a JSON object, got " + here());
    Json root = value(0);
    skip_space();
    if (pos_ < text_.size())
      fail("unexpected " + here() + " after the header object");
    return root;
  }

private:
  // '\0' at the end: no JSON token starts with it, and here() tells the two apart in messages.
  char peek() const { return pos_ < text_.size() ? text_[pos_] : '\0'; }
  std::string here() const {
    if (pos_ >= text_.size())
      return "the end of the header";
    const auto u = static_cast<unsigned char>(text_[pos_]);
    if (u > 0x20 && u < 0x7F)
      return str("'", text_[pos_], "'");
    return str("byte 0x", kHex[u >> 4], kHex[u & 15]);
  }
  [[noreturn]] void fail(const std::string& what) const {
    throw DataError(str("[checkpoint] ", path_, ": bad header JSON at byte ", pos_, ": ", what));
  }
  void skip_space() {
    while (peek() == ' ' || peek() == '\t' || peek() == '\n' || peek() == '\r')
      ++pos_;
  }
  bool eat(char c) {
    skip_space();
    return peek() == c ? (++pos_, true) : false;
  }
  void expect(char c, const char* where) {
    if (!eat(c))
      fail(str("expected '", c, "' ", where, ", got ", here()));
  }

  Json value(int depth) {
    if (depth > kMaxJsonDepth)
      fail(str("values nested deeper than ", kMaxJsonDepth, " levels"));
    skip_space();
    const char c = peek();
    if (c == '{')
      return object(depth);
    if (c == '[')
      return array(depth);
    if (c == '"')
      return Json{Json::Kind::String, string(), {}, {}};
    if (c == '-' || (c >= '0' && c <= '9'))
      return number();
    for (std::string_view word : {"true", "false", "null"})
      if (text_.substr(pos_, word.size()) == word) {
        pos_ += word.size();
        const auto kind = word == "null" ? Json::Kind::Null : Json::Kind::Bool;
        return Json{kind, std::string(word), {}, {}};
      }
    fail("expected a value, got " + here());
  }

  Json object(int depth) {
    Json out{Json::Kind::Object, "", {}, {}};
    std::set<std::string> seen;
    ++pos_;
    if (eat('}'))
      return out;
    do {
      skip_space();
      if (peek() != '"')
        fail("expected a string key, got " + here());
      const size_t key_pos = pos_;
      std::string key = string();
      if (!seen.insert(key).second)
        pos_ = key_pos, fail("duplicate key '" + key + "'");
      expect(':', "after a key");
      out.items.push_back(value(depth + 1));
      out.keys.push_back(std::move(key));
    } while (eat(','));
    expect('}', "or ',' in an object");
    return out;
  }

  Json array(int depth) {
    Json out{Json::Kind::Array, "", {}, {}};
    ++pos_;
    if (eat(']'))
      return out;
    do
      out.items.push_back(value(depth + 1));
    while (eat(','));
    expect(']', "or ',' in an array");
    return out;
  }

  Json number() {
    const size_t start = pos_;
    auto digits = [&] {
      const size_t from = pos_;
      while (peek() >= '0' && peek() <= '9')
        ++pos_;
      if (pos_ == from)
        fail("expected a digit, got " + here());
    };
    pos_ += peek() == '-';
    if (peek() == '0')
      ++pos_; // JSON has no leading zeros: "01" ends after the 0
    else
      digits();
    if (peek() == '.')
      ++pos_, digits();
    if (peek() == 'e' || peek() == 'E') {
      ++pos_;
      pos_ += peek() == '+' || peek() == '-';
      digits();
    }
    return Json{Json::Kind::Number, std::string(text_.substr(start, pos_ - start)), {}, {}};
  }

  uint32_t hex4() {
    uint32_t v = 0;
    for (int i = 0; i < 4; ++i, ++pos_) {
      const char c = static_cast<char>(std::tolower(static_cast<unsigned char>(peek())));
      const char* d = c != '\0' ? std::strchr(kHex, c) : nullptr;
      if (d == nullptr)
        fail("expected a hex digit in a \\u escape, got " + here());
      v = v << 4 | static_cast<uint32_t>(d - kHex);
    }
    return v;
  }

  // A \u escape (with its low half, for a surrogate pair) as a code point.
  uint32_t unicode_escape() {
    const size_t start = pos_ - 2;
    const uint32_t cp = hex4();
    if (cp >= 0xDC00 && cp <= 0xDFFF)
      pos_ = start, fail("lone low surrogate in a \\u escape");
    if (cp < 0xD800 || cp > 0xDBFF)
      return cp;
    uint32_t low = 0;
    if (text_.substr(pos_, 2) == "\\u")
      pos_ += 2, low = hex4();
    if (low < 0xDC00 || low > 0xDFFF)
      pos_ = start, fail("lone high surrogate in a \\u escape");
    return 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
  }

  // The header was checked to be UTF-8 as a whole, so bytes >= 0x80 are copied as they are.
  std::string string() {
    std::string out;
    ++pos_;
    while (true) {
      if (pos_ >= text_.size())
        fail("unexpected end of the header inside a string");
      const char c = text_[pos_++];
      if (c == '"')
        return out;
      if (static_cast<unsigned char>(c) < 0x20)
        --pos_, fail("control character " + here() + " in a string must be escaped");
      if (c != '\\') {
        out += c;
        continue;
      }
      if (pos_ >= text_.size())
        continue; // reported as a string that does not end
      const char e = text_[pos_++];
      if (e == 'u')
        append_utf8(out, unicode_escape());
      else if (e == '/')
        out += '/';
      else if (const size_t k = kEscapeLetters.find(e); k != std::string_view::npos)
        out += kEscaped[k];
      else
        --pos_, fail("'\\' followed by " + here() + " is not a JSON escape");
    }
  }

  static void append_utf8(std::string& out, uint32_t cp) {
    auto byte = [&](uint32_t b) { out += static_cast<char>(b); };
    if (cp < 0x80)
      return byte(cp);
    if (cp < 0x800)
      return byte(0xC0 | cp >> 6), byte(0x80 | (cp & 0x3F));
    if (cp < 0x10000)
      byte(0xE0 | cp >> 12);
    else
      byte(0xF0 | cp >> 18), byte(0x80 | (cp >> 12 & 0x3F));
    byte(0x80 | (cp >> 6 & 0x3F)), byte(0x80 | (cp & 0x3F));
  }

  std::string_view text_;
  const std::string& path_;
  size_t pos_ = 0;
};

// ---- writing ----

[[noreturn]] void write_fail(const std::string& path, const std::string& why) {
  throw Error(str("[checkpoint] ", path, ": cannot write: ", why));
}

// A temporary file beside the target that replaces it only on commit(); otherwise the
// destructor removes it, so a failed save leaves the directory as it found it.
class AtomicFile {
public:
  explicit AtomicFile(const std::string& path) : path_(path) {
    static std::atomic<unsigned> counter{0};
    const std::filesystem::path target(path);
    dir_ = target.parent_path().empty() ? "." : target.parent_path().string();
    // O_EXCL never follows a stale file from a crashed run whose pid came back; try the next.
    for (int attempt = 0; fd_ < 0; ++attempt) {
      tmp_ = (std::filesystem::path(dir_) /
              str(".", target.filename().string(), ".tmp-", ::getpid(), "-", counter++))
                 .string();
      fd_ = ::open(tmp_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
      if (fd_ < 0 && (errno != EEXIST || attempt == 100))
        fail("creating " + tmp_);
    }
  }
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;
  ~AtomicFile() {
    if (fd_ >= 0)
      ::close(fd_);
    if (!committed_ && !tmp_.empty())
      ::unlink(tmp_.c_str());
  }

  void write(const void* data, size_t n) {
    const auto* p = static_cast<const char*>(data);
    while (n > 0) {
      const ssize_t got = ::write(fd_, p, n);
      if (got < 0 && errno == EINTR)
        continue;
      if (got < 0)
        fail("writing " + tmp_);
      p += got;
      n -= static_cast<size_t>(got);
    }
  }

  // fsync before rename: otherwise a crash soon after could leave the new name on empty blocks.
  void commit() {
    if (::fsync(fd_) != 0)
      fail("syncing " + tmp_);
    const int fd = std::exchange(fd_, -1);
    if (::close(fd) != 0)
      fail("closing " + tmp_);
    if (::rename(tmp_.c_str(), path_.c_str()) != 0)
      fail("renaming " + tmp_ + " to " + path_);
    committed_ = true;
    // Makes the rename itself durable. The new file is in place already, so a filesystem that
    // cannot sync directories is no reason to report a failure.
    const int dir = ::open(dir_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dir >= 0) {
      ::fsync(dir);
      ::close(dir);
    }
  }

private:
  [[noreturn]] void fail(const std::string& step) const {
    write_fail(path_, step + ": " + std::strerror(errno));
  }

  std::string path_, dir_, tmp_;
  int fd_ = -1;
  bool committed_ = false;
};

void check_for_saving(const std::string& path, const std::map<std::string, HostTensor>& tensors,
                      const std::map<std::string, std::string>& metadata) {
  constexpr auto npos = std::string_view::npos;
  for (const auto& [key, value] : metadata) {
    if (utf8_error(key) != npos)
      write_fail(path, "metadata key '" + key + "' is not valid UTF-8");
    if (utf8_error(value) != npos)
      write_fail(path, "metadata value of '" + key + "' is not valid UTF-8");
  }
  for (const auto& [name, t] : tensors) {
    if (name == "__metadata__")
      write_fail(path, "'__metadata__' is reserved for the metadata; rename the tensor");
    if (utf8_error(name) != npos)
      write_fail(path, "tensor name '" + name + "' is not valid UTF-8");
    const std::string what = str(dtype_name(t.dtype), " ", HostTensor::shape_text(t.shape));
    if (std::any_of(t.shape.begin(), t.shape.end(), [](int64_t d) { return d < 0; }))
      write_fail(path, str("tensor '", name, "' has a negative dimension: ", what));
    const uint64_t need = static_cast<uint64_t>(t.numel()) * ir::dtype_bytes(t.dtype);
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
      append_json_string(header, key);
      header += ':';
      append_json_string(header, value);
    }
    header += '}';
  }
  uint64_t offset = 0;
  for (const auto& [name, t] : order) {
    if (header.size() > 1)
      header += ',';
    append_json_string(header, *name);
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

  AtomicFile out(path);
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
  if (const size_t bad = utf8_error(header); bad != std::string_view::npos)
    data_fail(path, str("header is not valid UTF-8 at byte ", bad));

  const Json root = JsonParser(header, path).parse_header();
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
