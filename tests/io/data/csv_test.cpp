#include "io/csv.h"

#include "error_text.h"
#include "tests/support/temp_dir.h"

#include "base/rng.h"

#include <catch2/catch.hpp>

#include <limits>

using kiln::MatrixRM;
using kiln::data::CsvOptions;
using kiln::test::data_error_of;
using kiln::test::TempDir;

TEST_CASE("csv: write then read gives back every float exactly", "[data][csv]") {
  const TempDir dir("csv-roundtrip");
  kiln::Rng rng(5);
  MatrixRM m(40, 3);
  for (Eigen::Index i = 0; i < m.size(); ++i)
    m.data()[i] = static_cast<float>(rng.normal() * std::pow(10.0, rng.uniform(-8.0, 8.0)));
  m(0, 0) = 0.1f;
  m(0, 1) = -0.0f;
  m(0, 2) = std::numeric_limits<float>::max();
  const std::string path = dir.file("m.csv");
  kiln::data::write_csv(path, m, {"a", "b", "c"});
  const kiln::data::CsvTable t = kiln::data::read_csv_table(path, CsvOptions{.header = true});
  CHECK(t.columns == std::vector<std::string>{"a", "b", "c"});
  CHECK(t.values == m);
  // Without a header option the first line of such a file is data, and not numbers.
  CHECK(data_error_of([&] { kiln::data::read_csv(path); }) ==
        "[csv] " + path + ":1: column 1: \"a\" is not a number");
}

TEST_CASE("csv: comments, blank lines, CRLF, spaces, other delimiters", "[data][csv]") {
  const TempDir dir("csv-forms");
  const std::string path = dir.write("d.csv", "# produced by hand\r\n"
                                              "\"x\"; y ;\tz\r\n"
                                              "\r\n"
                                              "1; 2.5 ;-3e2\r\n"
                                              "   # an indented comment\n"
                                              "+4;.5;inf\n"
                                              "1e-60;-1e-50;7\n");
  const kiln::data::CsvTable t =
      kiln::data::read_csv_table(path, CsvOptions{.header = true, .delimiter = ';'});
  CHECK(t.columns == std::vector<std::string>{"x", "y", "z"});
  REQUIRE(t.values.rows() == 3);
  REQUIRE(t.values.cols() == 3);
  CHECK(t.values(0, 1) == 2.5f);
  CHECK(t.values(0, 2) == -300.0f);
  CHECK(t.values(1, 0) == 4.0f);
  CHECK(t.values(1, 1) == 0.5f);
  CHECK(t.values(1, 2) == std::numeric_limits<float>::infinity());
  // Below the smallest float: flushed to a zero of the same sign, as strtof does.
  CHECK(t.values(2, 0) == 0.0f);
  CHECK(std::signbit(t.values(2, 1)));

  const std::string spaced = dir.write("s.txt", "1  2\t3\n  4 5     6  \n");
  const MatrixRM s = kiln::data::read_csv(spaced, CsvOptions{.delimiter = ' '});
  REQUIRE(s.rows() == 2);
  CHECK(s(1, 2) == 6.0f);
  // With comments turned off a '#' is data, and not a number.
  CHECK(data_error_of([&] { kiln::data::read_csv(path, CsvOptions{.comment = '\0'}); }) ==
        "[csv] " + path + ":1: column 1: \"# produced by hand\" is not a number");
}

TEST_CASE("csv: malformed files name the file, the line and the problem", "[data][csv][errors]") {
  const TempDir dir("csv-errors");
  const std::string missing = dir.file("missing.csv");
  CHECK(data_error_of([&] { kiln::data::read_csv(missing); }) ==
        "[csv] " + missing + ": no such file");

  const std::string ragged = dir.write("data.csv", "# a, b, c\n1,2,3\n4,5,6\n\n7,8,9\n"
                                                   "1,2,3\n10,11\n");
  CHECK(data_error_of([&] { kiln::data::read_csv(ragged); }) ==
        "[csv] " + ragged + ":7: expected 3 columns, got 2");
  const std::string headed = dir.write("headed.csv", "a,b,c\n1,2\n");
  CHECK(data_error_of([&] { kiln::data::read_csv(headed, CsvOptions{.header = true}); }) ==
        "[csv] " + headed + ":2: expected 3 columns (as in the header), got 2");
  const std::string word = dir.write("word.csv", "1,2\n3,4\n5,abc\n");
  CHECK(data_error_of([&] { kiln::data::read_csv(word); }) ==
        "[csv] " + word + ":3: column 2: \"abc\" is not a number");
  const std::string trailing = dir.write("trailing.csv", "1,2x\n");
  CHECK(data_error_of([&] { kiln::data::read_csv(trailing); }) ==
        "[csv] " + trailing + ":1: column 2: \"2x\" is not a number");
  const std::string empty_field = dir.write("empty-field.csv", "1,,3\n");
  CHECK(data_error_of([&] { kiln::data::read_csv(empty_field); }) ==
        "[csv] " + empty_field + ":1: column 2 is empty");
  const std::string big = dir.write("big.csv", "1e39\n");
  CHECK(data_error_of([&] { kiln::data::read_csv(big); }) ==
        "[csv] " + big + ":1: column 1: 1e39 is out of the range of float");
  const std::string only_comments = dir.write("comments.csv", "# nothing\n\n");
  CHECK(data_error_of([&] { kiln::data::read_csv(only_comments); }) ==
        "[csv] " + only_comments + ": no data lines");
  const std::string only_header = dir.write("header.csv", "a,b\n");
  CHECK(data_error_of([&] { kiln::data::read_csv(only_header, CsvOptions{.header = true}); }) ==
        "[csv] " + only_header + ": no data lines");
}

TEST_CASE("write_csv: header length and unwritable paths", "[data][csv][errors]") {
  const TempDir dir("csv-write");
  const MatrixRM m = MatrixRM::Ones(2, 3);
  const std::string path = dir.file("out.csv");
  CHECK(data_error_of([&] {
          kiln::data::write_csv(path, m, {"a", "b"});
        }) == "[csv] " + path + ": the header names 2 columns but the matrix has 3");
  const std::string blocked = dir.file("no-such-dir/out.csv");
  CHECK(data_error_of([&] { kiln::data::write_csv(blocked, m); }) ==
        "[csv] " + blocked + ": cannot open for writing: No such file or directory");
  kiln::data::write_csv(path, m, {}, '\t');
  CHECK(kiln::data::read_csv(path, CsvOptions{.delimiter = '\t'}) == m);
}
