// Parser for the listing format of ir/print.h.

#include <cctype>
#include <charconv>
#include <cmath>
#include <map>
#include <optional>
#include <variant>

#include "base/error.h"
#include "ir/print.h"

namespace kiln::ir {

namespace {

class LineParser {
public:
  LineParser(std::string_view text, int line) : s_(text), line_(line) {}

  [[noreturn]] void fail(const std::string& what) const {
    throw Error(str("[parse] line ", line_, ": ", what, " in \"", s_, "\""));
  }
  void skip_ws() {
    while (pos_ < s_.size() && std::isspace(static_cast<unsigned char>(s_[pos_])))
      ++pos_;
  }
  bool at_end() {
    skip_ws();
    return pos_ >= s_.size();
  }
  bool accept(char c) {
    skip_ws();
    if (pos_ < s_.size() && s_[pos_] == c) {
      ++pos_;
      return true;
    }
    return false;
  }
  void expect(char c) {
    if (!accept(c))
      fail(str("expected '", c, "'"));
  }
  std::string word() {
    skip_ws();
    const size_t start = pos_;
    while (pos_ < s_.size() && (std::isalnum(static_cast<unsigned char>(s_[pos_])) ||
                                s_[pos_] == '_' || s_[pos_] == '.' || s_[pos_] == '/'))
      ++pos_;
    if (pos_ == start)
      fail("expected a name");
    return std::string(s_.substr(start, pos_ - start));
  }
  std::string ref() {
    expect('%');
    return word();
  }
  int64_t dim() {
    skip_ws();
    if (accept('N'))
      return kBatch;
    return integer();
  }
  int64_t integer() {
    skip_ws();
    int64_t v = 0;
    auto [p, ec] = std::from_chars(s_.data() + pos_, s_.data() + s_.size(), v);
    if (ec != std::errc())
      fail("expected an integer");
    pos_ = static_cast<size_t>(p - s_.data());
    return v;
  }
  std::vector<int64_t> dims() {
    expect('[');
    std::vector<int64_t> out;
    if (accept(']'))
      return out;
    do
      out.push_back(dim());
    while (accept(','));
    expect(']');
    return out;
  }
  Type type() {
    const std::string name = word();
    const auto t = parse_dtype(name);
    if (!t)
      fail(str("unknown dtype '", name, "'"));
    return Type{*t, Shape(dims())};
  }
  AttrValue value() {
    skip_ws();
    if (accept('"')) {
      const size_t end = s_.find('"', pos_);
      if (end == std::string_view::npos)
        fail("unterminated string");
      std::string v(s_.substr(pos_, end - pos_));
      pos_ = end + 1;
      return v;
    }
    if (pos_ < s_.size() && s_[pos_] == '[')
      return dims();
    const size_t start = pos_;
    while (pos_ < s_.size() && s_[pos_] != ',' && s_[pos_] != '}' &&
           !std::isspace(static_cast<unsigned char>(s_[pos_])))
      ++pos_;
    const std::string tok(s_.substr(start, pos_ - start));
    if (tok == "inf" || tok == "-inf" || tok == "nan")
      return tok == "nan" ? NAN : (tok[0] == '-' ? -INFINITY : INFINITY);
    if (tok.find_first_of(".eE") != std::string::npos) {
      double d = 0;
      auto [p, ec] = std::from_chars(tok.data(), tok.data() + tok.size(), d);
      if (ec != std::errc() || p != tok.data() + tok.size())
        fail(str("bad number '", tok, "'"));
      return d;
    }
    int64_t i = 0;
    auto [p, ec] = std::from_chars(tok.data(), tok.data() + tok.size(), i);
    if (ec != std::errc() || p != tok.data() + tok.size())
      fail(str("bad value '", tok, "'"));
    return i;
  }
  Attrs attrs() {
    Attrs a;
    if (!accept('{'))
      return a;
    if (accept('}'))
      return a;
    do {
      const std::string key = word();
      expect('=');
      a.set(key, value());
    } while (accept(','));
    expect('}');
    return a;
  }

private:
  std::string_view s_;
  size_t pos_ = 0;
  int line_;
};

} // namespace

Graph parse_graph(std::string_view text) {
  Builder b;
  std::map<std::string, NodeId> ids;
  int line_no = 0;
  size_t start = 0;
  while (start <= text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string_view::npos)
      end = text.size();
    std::string_view line = text.substr(start, end - start);
    start = end + 1;
    ++line_no;
    if (const size_t hash = line.find('#'); hash != std::string_view::npos)
      line = line.substr(0, hash);
    LineParser p(line, line_no);
    if (p.at_end() || p.accept('}'))
      continue;
    auto lookup = [&](const std::string& name) {
      auto it = ids.find(name);
      if (it == ids.end())
        p.fail(str("%", name, " is used before it is defined"));
      return it->second;
    };
    LineParser peek(line, line_no);
    if (peek.accept('%')) {
      const std::string id = p.ref();
      if (ids.count(id))
        p.fail(str("%", id, " is defined twice"));
      p.expect('=');
      const std::string name = p.word();
      const auto op = op_from_name(name);
      if (!op)
        p.fail(str("unknown op '", name, "'"));
      std::vector<NodeId> inputs;
      if (p.accept('(')) {
        if (!p.accept(')')) {
          do
            inputs.push_back(lookup(p.ref()));
          while (p.accept(','));
          p.expect(')');
        }
      }
      Attrs attrs = p.attrs();
      // A constant's value is a double even when written without a point ("value=1").
      std::optional<double> int_value;
      for (const auto& [key, v] : attrs.items())
        if (key == "value" && std::holds_alternative<int64_t>(v))
          int_value = static_cast<double>(std::get<int64_t>(v));
      if (*op == Op::Constant && int_value)
        attrs.set("value", *int_value);
      p.expect(':');
      const Type type = p.type();
      if (!p.at_end())
        p.fail("unexpected text after the type");
      try {
        ids[id] = b.make(*op, std::move(inputs), std::move(attrs), type);
      } catch (const InternalError& e) {
        p.fail(e.what());
      } catch (const ShapeError& e) {
        p.fail(e.what());
      }
      continue;
    }
    const std::string keyword = p.word();
    if (keyword == "graph") {
      p.expect('{');
      continue;
    }
    if (keyword != "output")
      p.fail(str("expected a node, 'output' or 'graph', got '", keyword, "'"));
    const std::string name = p.word();
    p.expect('=');
    b.set_output(name, lookup(p.ref()));
  }
  return b.graph();
}

} // namespace kiln::ir
