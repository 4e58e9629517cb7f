#include "io/csv.h"

#include "base/error.h"

#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string_view>

namespace kiln::data {

namespace {

bool is_blank(char c) {
  return c == ' ' || c == '\t';
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && is_blank(s.front()))
    s.remove_prefix(1);
  while (!s.empty() && is_blank(s.back()))
    s.remove_suffix(1);
  return s;
}

// Splits one line. A blank delimiter (space or tab) means "any run of blanks", as in
// whitespace-separated tables.
std::vector<std::string_view> split_fields(std::string_view line, char delimiter) {
  std::vector<std::string_view> fields;
  if (is_blank(delimiter)) {
    size_t i = 0;
    while (i < line.size()) {
      while (i < line.size() && is_blank(line[i]))
        ++i;
      const size_t start = i;
      while (i < line.size() && !is_blank(line[i]))
        ++i;
      if (i > start)
        fields.push_back(line.substr(start, i - start));
    }
    return fields;
  }
  size_t start = 0;
  while (true) {
    const size_t end = line.find(delimiter, start);
    fields.push_back(trim(line.substr(start, end == std::string_view::npos ? end : end - start)));
    if (end == std::string_view::npos)
      return fields;
    start = end + 1;
  }
}

class CsvParser {
public:
  CsvParser(const std::string& path, const CsvOptions& options) : path_(path), options_(options) {}

  CsvTable parse() {
    std::error_code ec;
    if (!std::filesystem::exists(path_, ec))
      fail_file("no such file");
    std::ifstream in(path_);
    if (!in)
      fail_file(str("cannot open: ", std::strerror(errno)));
    CsvTable table;
    std::vector<float> values;
    size_t columns = 0;
    bool header_pending = options_.header;
    std::string line;
    for (int line_no = 1; std::getline(in, line); ++line_no) {
      if (!line.empty() && line.back() == '\r')
        line.pop_back();
      const std::string_view text = trim(line);
      if (text.empty() || (options_.comment != '\0' && text.front() == options_.comment))
        continue;
      const std::vector<std::string_view> fields = split_fields(text, options_.delimiter);
      if (header_pending) {
        for (std::string_view f : fields)
          table.columns.emplace_back(unquote(f));
        columns = fields.size();
        header_pending = false;
        continue;
      }
      if (columns == 0)
        columns = fields.size();
      if (fields.size() != columns)
        fail(line_no, str("expected ", columns, " columns",
                          options_.header ? " (as in the header)" : "", ", got ", fields.size()));
      for (size_t c = 0; c < fields.size(); ++c)
        values.push_back(parse_number(fields[c], line_no, c));
    }
    if (values.empty())
      fail_file("no data lines");
    const auto rows = static_cast<Eigen::Index>(values.size() / columns);
    table.values =
        Eigen::Map<const MatrixRM>(values.data(), rows, static_cast<Eigen::Index>(columns));
    return table;
  }

private:
  [[noreturn]] void fail_file(const std::string& why) const {
    throw DataError(str("[csv] ", path_, ": ", why));
  }
  [[noreturn]] void fail(int line_no, const std::string& why) const {
    throw DataError(str("[csv] ", path_, ":", line_no, ": ", why));
  }

  static std::string_view unquote(std::string_view s) {
    if (s.size() >= 2 && s.front() == '"' && s.back() == '"')
      return s.substr(1, s.size() - 2);
    return s;
  }

  float parse_number(std::string_view field, int line_no, size_t column) const {
    if (field.empty())
      fail(line_no, str("column ", column + 1, " is empty"));
    std::string_view digits = field;
    if (digits.front() == '+')
      digits.remove_prefix(1);
    // Parsing straight to float rounds once; via double it could round twice.
    float v = 0.0f;
    const char* last = digits.data() + digits.size();
    const auto [end, ec] = std::from_chars(digits.data(), last, v);
    if (ec == std::errc::result_out_of_range && end == last) {
      double wide = 0.0;
      std::from_chars(digits.data(), last, wide);
      if (std::abs(wide) < 1.0)
        return std::signbit(wide) ? -0.0f : 0.0f; // underflow: flush
      fail(line_no, str("column ", column + 1, ": ", field, " is out of the range of float"));
    }
    if (ec != std::errc() || end != last)
      fail(line_no, str("column ", column + 1, ": \"", field, "\" is not a number"));
    return v;
  }

  const std::string& path_;
  const CsvOptions& options_;
};

} // namespace

CsvTable read_csv_table(const std::string& path, const CsvOptions& options) {
  return CsvParser(path, options).parse();
}

MatrixRM read_csv(const std::string& path, const CsvOptions& options) {
  return read_csv_table(path, options).values;
}

void write_csv(const std::string& path, const MatrixRM& values,
               const std::vector<std::string>& header, char delimiter) {
  if (!header.empty() && static_cast<Eigen::Index>(header.size()) != values.cols())
    throw DataError(str("[csv] ", path, ": the header names ", header.size(),
                        " columns but the matrix has ", values.cols()));
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out)
    throw DataError(str("[csv] ", path, ": cannot open for writing: ", std::strerror(errno)));
  for (size_t c = 0; c < header.size(); ++c)
    out << (c ? std::string(1, delimiter) : "") << header[c];
  if (!header.empty())
    out << '\n';
  char buf[32];
  for (Eigen::Index r = 0; r < values.rows(); ++r) {
    for (Eigen::Index c = 0; c < values.cols(); ++c) {
      if (c)
        out << delimiter;
      // The shortest text that reads back to the same float.
      const auto res = std::to_chars(buf, buf + sizeof(buf), values(r, c));
      out.write(buf, res.ptr - buf);
    }
    out << '\n';
  }
  out.flush();
  if (!out)
    throw DataError(str("[csv] ", path, ": write failed: ", std::strerror(errno)));
}

} // namespace kiln::data
