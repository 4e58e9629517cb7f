// The CSV reader (io/csv.h) on arbitrary bytes, with options taken from the first byte: a
// table whose shape matches its header, or a kiln::Error naming the file and line.

#include "fuzz_support.h"
#include "io/csv.h"

#include "base/error.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0)
    return 0;
  static constexpr char kDelimiters[] = {',', ';', ' ', '\t'};
  const kiln::data::CsvOptions options{.header = (data[0] & 1) != 0,
                                       .delimiter = kDelimiters[(data[0] >> 1) & 3],
                                       .comment = (data[0] & 8) != 0 ? '\0' : '#'};
  const kiln::fuzz::MemoryFile file(data + 1, size - 1);
  try {
    const kiln::data::CsvTable t = kiln::data::read_csv_table(file.path(), options);
    if (t.values.rows() < 1 || t.values.cols() < 1)
      kiln::fuzz::violated("a table without data was returned");
    if (options.header && static_cast<Eigen::Index>(t.columns.size()) != t.values.cols())
      kiln::fuzz::violated("the header names another number of columns");
  } catch (const kiln::Error&) {
  }
  return 0;
}
