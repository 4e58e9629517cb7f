#pragma once
// An indenting line writer for generated source.

#include <string>
#include <string_view>

namespace kiln::codegen {

class CodeWriter {
public:
  /** Writes one line at the current indentation. */
  void line(std::string_view text) {
    out_.append(static_cast<size_t>(indent_) * 2, ' ');
    out_ += text;
    out_ += '\n';
  }
  /** Writes "text {" and indents. */
  void open(std::string_view text) {
    line(std::string(text) + " {");
    ++indent_;
  }
  /** Dedents and writes "}". */
  void close(std::string_view tail = "") {
    --indent_;
    line("}" + std::string(tail));
  }
  /** Closes the current block and opens the next one on the same line ("} else {"). */
  void reopen(std::string_view text) {
    --indent_;
    line("} " + std::string(text) + " {");
    ++indent_;
  }
  void blank() { out_ += '\n'; }
  const std::string& str() const { return out_; }

private:
  std::string out_;
  int indent_ = 0;
};

/** `text` with every line indented by two spaces (a block's body placed inside braces). */
inline std::string indented(std::string_view text) {
  std::string out;
  for (size_t pos = 0; pos < text.size();) {
    const size_t eol = text.find('\n', pos);
    out.append("  ").append(text.substr(pos, eol - pos)).append("\n");
    pos = eol == std::string_view::npos ? text.size() : eol + 1;
  }
  return out;
}

} // namespace kiln::codegen
