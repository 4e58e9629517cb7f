#include <cctype>
#include <set>
#include <string_view>
#include <vector>

#include "codegen/counter_hash.h"
#include "codegen/cpu/renderer.h"
#include "codegen/prelude/kiln_math_source.h"

namespace kiln::codegen {

const std::string& cpu_prelude() {
  static const std::string s = kKilnMathSource + counter_hash_source("static inline");
  return s;
}

namespace {

// ASCII only, and no locale: the generated source is plain ASCII C++.
bool starts_identifier(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}
bool continues_identifier(char c) {
  return starts_identifier(c) || (c >= '0' && c <= '9');
}

/** Calls `f` with each identifier of `code`, skipping comments (string literals do not occur in
 *  the prelude). */
template <class F>
void for_each_identifier(std::string_view code, F&& f) {
  for (size_t i = 0; i < code.size();) {
    if (code.substr(i, 2) == "//") {
      i = code.find('\n', i);
      if (i == std::string_view::npos)
        break;
    } else if (code.substr(i, 2) == "/*") {
      i = code.find("*/", i);
      if (i == std::string_view::npos)
        break;
      i += 2;
    } else if (starts_identifier(code[i])) {
      size_t j = i;
      while (j < code.size() && continues_identifier(code[j]))
        ++j;
      f(code.substr(i, j - i));
      i = j;
    } else if (code[i] >= '0' && code[i] <= '9') {
      while (i < code.size() && (continues_identifier(code[i]) || code[i] == '.'))
        ++i; // a number such as 0x1.8p23f is no identifier
    } else {
      ++i;
    }
  }
}

/** The identifiers of `code`, skipping comments. */
std::set<std::string> identifiers_of(const std::string& code) {
  std::set<std::string> out;
  for_each_identifier(code, [&](std::string_view id) { out.emplace(id); });
  return out;
}

/** `code` without comments. */
std::string code_only(const std::string& text) {
  std::string out;
  for (size_t i = 0; i < text.size();) {
    if (text.compare(i, 2, "//") == 0) {
      i = text.find('\n', i);
      if (i == std::string::npos)
        break;
    } else if (text.compare(i, 2, "/*") == 0) {
      i = text.find("*/", i);
      i = i == std::string::npos ? text.size() : i + 2;
    } else {
      out += text[i++];
    }
  }
  return out;
}

/** One top-level declaration of the prelude's namespace, its leading comment included. */
struct Item {
  std::string text;
  std::string name; // the name it declares ("" for a static_assert: always kept)
  std::set<std::string> uses;
};

/** The prelude cut at its namespace: head, the namespace's items, the tail's using lines. */
struct Parsed {
  std::string head, close, end;
  std::vector<Item> items;
  std::vector<std::pair<std::string, std::string>> usings; // name, line
  bool ok = false;
};

Parsed parse(const std::string& p) {
  Parsed out;
  const std::string open = "namespace kiln_math {\n", close = "} // namespace kiln_math\n";
  const size_t a = p.find(open), b = p.rfind(close);
  if (a == std::string::npos || b == std::string::npos)
    return out;
  out.head = p.substr(0, a + open.size());
  out.close = close;
  const std::string body = p.substr(a + open.size(), b - a - open.size());
  int depth = 0;
  std::string cur;
  for (size_t pos = 0; pos < body.size();) {
    const size_t eol = body.find('\n', pos);
    const std::string line =
        body.substr(pos, eol == std::string::npos ? std::string::npos : eol - pos + 1);
    pos = eol == std::string::npos ? body.size() : eol + 1;
    cur += line;
    const std::string code = code_only(line);
    for (char c : code)
      depth += c == '{' ? 1 : c == '}' ? -1 : 0;
    size_t last = code.find_last_not_of(" \n\t");
    if (depth == 0 && last != std::string::npos && (code[last] == '}' || code[last] == ';')) {
      Item it;
      it.text = cur;
      const std::string c = code_only(cur);
      size_t stop = c.find_first_of("(={;");
      if (c.find("static_assert") == std::string::npos && stop != std::string::npos) {
        size_t e = stop;
        while (e > 0 && !(std::isalnum(static_cast<unsigned char>(c[e - 1])) || c[e - 1] == '_'))
          --e;
        size_t s = e;
        while (s > 0 && (std::isalnum(static_cast<unsigned char>(c[s - 1])) || c[s - 1] == '_'))
          --s;
        it.name = c.substr(s, e - s);
      }
      it.uses = identifiers_of(c);
      out.items.push_back(std::move(it));
      cur.clear();
    }
  }
  if (cur.find_first_not_of(" \n\t") != std::string::npos || depth != 0)
    return out;
  out.close = cur + close;
  const std::string tail = p.substr(b + close.size());
  for (size_t pos = 0; pos < tail.size();) {
    const size_t eol = tail.find('\n', pos);
    const std::string line =
        tail.substr(pos, eol == std::string::npos ? std::string::npos : eol - pos + 1);
    pos = eol == std::string::npos ? tail.size() : eol + 1;
    if (line.starts_with("using kiln_math::")) {
      const size_t s = line.find("::") + 2;
      out.usings.emplace_back(line.substr(s, line.find(';') - s), line);
    } else {
      out.end += line;
    }
  }
  out.ok = true;
  return out;
}

} // namespace

std::string trim_prelude(const std::string& source) {
  static const Parsed parsed = parse(cpu_prelude());
  const std::string& prelude = cpu_prelude();
  const size_t at = source.find(prelude);
  if (!parsed.ok || at == std::string::npos)
    return source;
  // The closure of the names the rest of the source uses over the items that declare them.
  // The rest reaches the prelude only through its using lines, so only their names are looked
  // for there: the warm (cached) compile scans the whole source on every call.
  static const std::set<std::string, std::less<>> exported = [] {
    std::set<std::string, std::less<>> names;
    for (const auto& [name, line] : parsed.usings)
      names.insert(name);
    return names;
  }();
  std::set<std::string> need;
  std::vector<std::string> work;
  const auto seed = [&](std::string_view id) {
    if (exported.count(id) && need.emplace(id).second)
      work.emplace_back(id);
  };
  const std::string_view text(source);
  for_each_identifier(text.substr(0, at), seed);
  for_each_identifier(text.substr(at + prelude.size()), seed);
  for (const Item& it : parsed.items) // a static_assert stays, with what it names
    if (it.name.empty())
      for (const std::string& u : it.uses)
        if (need.insert(u).second)
          work.push_back(u);
  while (!work.empty()) {
    const std::string name = work.back();
    work.pop_back();
    for (const Item& it : parsed.items)
      if (it.name == name)
        for (const std::string& u : it.uses)
          if (need.insert(u).second)
            work.push_back(u);
  }
  std::string out = parsed.head;
  for (const Item& it : parsed.items)
    if (it.name.empty() || need.count(it.name))
      out += it.text;
  out += parsed.close;
  for (const auto& [name, line] : parsed.usings)
    if (need.count(name))
      out += line;
  out += parsed.end;
  return source.substr(0, at) + out + source.substr(at + prelude.size());
}

} // namespace kiln::codegen
