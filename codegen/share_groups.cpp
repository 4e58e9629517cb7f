#include "codegen/share_groups.h"

#include <algorithm>
#include <iterator>
#include <map>
#include <set>
#include <string_view>
#include <unordered_map>
#include <utility>

#include "base/error.h"
#include "base/hash.h"

namespace kiln::codegen {

namespace {

// ASCII only, and no locale: generated code is plain ASCII.
bool is_lower(char c) {
  return c >= 'a' && c <= 'z';
}
bool is_digit(char c) {
  return c >= '0' && c <= '9';
}
bool is_alpha(char c) {
  return is_lower(c) || (c >= 'A' && c <= 'Z');
}
bool is_alnum(char c) {
  return is_alpha(c) || is_digit(c);
}

bool digits_from(std::string_view id, size_t from) {
  if (id.size() <= from)
    return false;
  for (size_t i = from; i < id.size(); ++i)
    if (!is_digit(id[i]))
      return false;
  return true;
}

bool is_outer(std::string_view id) {
  if (id == "N" || id == "kiln_ws" || id == "kiln_rows" || id == "kiln_r0")
    return true;
  // Buffers b<k>, and a row-block step's arrays (cpu/row_block.h).
  return (id[0] == 'b' && digits_from(id, 1)) || row_block_array(id).kind != RowBlockArray::None;
}

constexpr std::pair<RowBlockArray, std::string_view> kRowBlockArrays[] = {
    {RowBlockArray::Acc, "kiln_acc"},
    {RowBlockArray::Bt, "kiln_bt"},
    {RowBlockArray::Sums, "kiln_sums"},
};

/** A generated temporary or loop variable: lower-case letters, digits, '_' (not kiln_*). */
bool is_local(std::string_view id) {
  static constexpr std::string_view kKeywords[] = {
      // sorted, for binary_search
      "auto",   "bool",   "break",  "char", "const",   "continue", "do",     "double", "else",
      "false",  "float",  "for",    "if",   "int",     "long",     "return", "short",  "signed",
      "sizeof", "static", "struct", "true", "typedef", "unsigned", "void",   "while"};
  if (id.empty() || !is_lower(id[0]) || id.starts_with("kiln"))
    return false;
  for (char c : id)
    if (!(is_lower(c) || is_digit(c) || c == '_'))
      return false;
  return !std::binary_search(std::begin(kKeywords), std::end(kKeywords), id);
}

/** A block with its comments removed and its names replaced by P<i> (outer) and V<i> (local). */
struct Canonical {
  std::string text;
  std::vector<std::string> outer; // in order of first use
};

// The cached (warm) compile renders the step again before it can look up its object, so this
// runs over every group's text each time: string views and no per-name allocation.
Canonical canonicalize(const std::string& block) {
  Canonical c;
  c.text.reserve(block.size());
  std::unordered_map<std::string_view, std::string> names;
  int locals = 0;
  const std::string_view text(block);
  size_t pos = 0;
  while (pos < text.size()) {
    size_t eol = text.find('\n', pos);
    if (eol == std::string_view::npos)
      eol = text.size();
    const std::string_view line = text.substr(pos, eol - pos);
    pos = eol + 1;
    const size_t first = line.find_first_not_of(' ');
    if (first != std::string_view::npos && line.substr(first, 2) == "//")
      continue;
    if (first != std::string_view::npos && line[first] == '#') { // preprocessor lines stay
      c.text += line;
      c.text += '\n';
      continue;
    }
    for (size_t i = 0; i < line.size();) {
      const char ch = line[i];
      if (ch == '"') { // a string literal (a _Pragma) stays as it is
        const size_t end = line.find('"', i + 1);
        const size_t stop = end == std::string_view::npos ? line.size() : end + 1;
        c.text += line.substr(i, stop - i);
        i = stop;
      } else if (line.substr(i, 13) == "__attribute__") { // so do attributes
        size_t j = line.find('(', i), depth = 0;
        for (; j < line.size(); ++j) {
          depth += line[j] == '(';
          if (line[j] == ')' && --depth == 0)
            break;
        }
        const size_t stop = std::min(j + 1, line.size());
        c.text += line.substr(i, stop - i);
        i = stop;
      } else if (is_alpha(ch) || ch == '_') {
        size_t j = i;
        while (j < line.size() && (is_alnum(line[j]) || line[j] == '_'))
          ++j;
        const std::string_view id = line.substr(i, j - i);
        if (is_outer(id)) {
          auto [it, fresh] = names.try_emplace(id);
          if (fresh) {
            it->second = "P" + std::to_string(c.outer.size());
            c.outer.emplace_back(id);
          }
          c.text += it->second;
        } else if (is_local(id)) {
          auto [it, fresh] = names.try_emplace(id);
          if (fresh)
            it->second = "V" + std::to_string(locals++);
          c.text += it->second;
        } else {
          c.text += id;
        }
        i = j;
      } else if (is_digit(ch)) {
        // A number, exponent sign included ("1e-08f"), copied as it is.
        size_t j = i;
        while (j < line.size() &&
               (is_alnum(line[j]) || line[j] == '.' ||
                ((line[j] == '-' || line[j] == '+') && (line[j - 1] == 'e' || line[j - 1] == 'E'))))
          ++j;
        c.text += line.substr(i, j - i);
        i = j;
      } else {
        c.text += ch;
        ++i;
      }
    }
    c.text += '\n';
  }
  return c;
}

std::string comments_of(const std::string& block) {
  std::string out;
  for (size_t pos = 0; pos < block.size();) {
    size_t eol = block.find('\n', pos);
    if (eol == std::string::npos)
      eol = block.size();
    const std::string line = block.substr(pos, eol - pos);
    const size_t first = line.find_first_not_of(' ');
    if (first != std::string::npos && line.compare(first, 2, "//") == 0)
      out += line + "\n";
    pos = eol + 1;
  }
  return out;
}

} // namespace

RowBlockArrayName row_block_array(std::string_view id) {
  for (const auto& [kind, prefix] : kRowBlockArrays)
    if (id.starts_with(prefix) && digits_from(id, prefix.size()))
      return {kind, static_cast<size_t>(std::stoul(std::string(id.substr(prefix.size()))))};
  return {};
}

std::string row_block_array_name(RowBlockArray kind, size_t gi) {
  for (const auto& [k, prefix] : kRowBlockArrays)
    if (k == kind)
      return std::string(prefix) + std::to_string(gi);
  throw InternalError("[share_groups] no name for RowBlockArray::None");
}

SharedGroups
share_repeated_groups(const std::vector<std::string>& blocks,
                      const std::function<std::string(const std::string&)>& param_type) {
  auto type_of = [&](const std::string& o) {
    return o == "N" || o == "kiln_rows" || o == "kiln_r0" ? std::string("long long")
           : o == "kiln_ws"                               ? std::string("char*")
                                                          : param_type(o);
  };
  // Blocks are the same when their text and the types of their outer variables are (a block
  // reading an input, const, is not the one reading a scratch buffer).
  std::vector<Canonical> canon;
  std::vector<std::string> keys;
  std::map<std::string, int> count;
  for (const std::string& b : blocks) {
    canon.push_back(canonicalize(b));
    std::string key = canon.back().text;
    for (const std::string& o : canon.back().outer)
      key += "|" + type_of(o);
    keys.push_back(key);
    ++count[key];
  }
  SharedGroups out;
  std::set<std::string> defined;
  for (size_t i = 0; i < blocks.size(); ++i) {
    const Canonical& c = canon[i];
    if (count[keys[i]] < 2) {
      out.blocks.push_back(blocks[i]);
      out.calls.emplace_back();
      out.body += blocks[i];
      continue;
    }
    const std::string name = "kiln_group_" + hash_hex128(keys[i]).substr(0, 12);
    if (defined.insert(name).second) {
      std::string params;
      for (size_t p = 0; p < c.outer.size(); ++p)
        params += (p ? ", " : "") + type_of(c.outer[p]) + " P" + std::to_string(p);
      std::string fn = "// Shared by " + std::to_string(count[keys[i]]) + " groups of this step.\n";
      fn += "__attribute__((noinline)) static void " + name + "(" + params + ") {\n";
      for (size_t start = 0; start < c.text.size();) {
        const size_t eol = c.text.find('\n', start);
        fn += "  " + c.text.substr(start, eol - start) + "\n";
        start = eol + 1;
      }
      fn += "}\n\n";
      out.functions += fn;
      out.function_text[name] = fn;
    }
    std::string args;
    for (size_t p = 0; p < c.outer.size(); ++p)
      args += (p ? ", " : "") + c.outer[p];
    out.blocks.push_back(comments_of(blocks[i]) + name + "(" + args + ");\n");
    out.calls.push_back(name);
    out.body += out.blocks.back();
  }
  return out;
}

} // namespace kiln::codegen
