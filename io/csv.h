#pragma once
// Numeric CSV files in and out: one sample per line, one number per field. Enough for data sets,
// predictions and training logs; not a general CSV parser (no quoted numbers, no missing values).

#include "io/dataset.h"

#include <string>
#include <vector>

namespace kiln::data {

/** How read_csv splits a file. */
struct CsvOptions {
  /** The first line that is not blank or a comment holds column names, not numbers. */
  bool header = false;
  /** Field separator. Spaces and tabs around a field are ignored. */
  char delimiter = ',';
  /** Lines whose first non-blank character is this are skipped; '\0' turns comments off. */
  char comment = '#';
};

/** A CSV file's column names (empty without a header) and its numbers. */
struct CsvTable {
  std::vector<std::string> columns;
  MatrixRM values;
};

/**
 * Reads a CSV file of numbers into a table: one row per data line, blank and comment lines
 * skipped, names from the header line when options.header is set (surrounding double quotes
 * removed). Every data line must have as many fields as the first one (or as the header).
 * Throws kiln::DataError naming the file and its 1-based line, e.g.
 * `[csv] data.csv:7: expected 3 columns, got 2` or `[csv] data.csv:4: column 2: "abc" is not a
 * number`; also when the file is missing or holds no data lines.
 */
CsvTable read_csv_table(const std::string& path, const CsvOptions& options = {});

/** read_csv_table(path, options).values. */
MatrixRM read_csv(const std::string& path, const CsvOptions& options = {});

/**
 * Writes `values` as CSV, one row per line, each float in its shortest form that reads back to the
 * same float. Writes `header` first when it is not empty; it must then name every column.
 * Throws kiln::DataError when the header has the wrong length or the file cannot be written.
 */
void write_csv(const std::string& path, const MatrixRM& values,
               const std::vector<std::string>& header = {}, char delimiter = ',');

} // namespace kiln::data
