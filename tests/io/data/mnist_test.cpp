#include "io/mnist.h"

#include "error_text.h"
#include "tests/support/temp_dir.h"

#include <catch2/catch.hpp>
#include <zlib.h>

#include <filesystem>
#include <iterator>
#include <numeric>

using kiln::test::data_error_of;
using kiln::test::TempDir;

namespace {

// The MNIST test set (10000 images) ships with the repository, so a clean clone can test it.
const std::string kMnistDir = KILN_SOURCE_DIR "/tests/data/mnist";
const std::string kImages = kMnistDir + "/t10k-images-idx3-ubyte.gz";
const std::string kLabels = kMnistDir + "/t10k-labels-idx1-ubyte.gz";

// The real files are part of the test setup: their absence is a failure, not a skip.
void require_real_files() {
  INFO("MNIST test files are expected in " << kMnistDir);
  REQUIRE(std::filesystem::is_regular_file(kImages));
  REQUIRE(std::filesystem::is_regular_file(kLabels));
}

// The whole decompressed content of a gzip file, read independently of kiln's reader.
std::string gunzip(const std::string& path) {
  gzFile f = gzopen(path.c_str(), "rb");
  REQUIRE(f != nullptr);
  std::string out;
  char buf[65536];
  int got = 0;
  while ((got = gzread(f, buf, sizeof(buf))) > 0)
    out.append(buf, static_cast<size_t>(got));
  gzclose(f);
  return out;
}

std::string gzip_file(const std::string& path, const std::string& bytes) {
  gzFile f = gzopen(path.c_str(), "wb");
  REQUIRE(f != nullptr);
  REQUIRE(gzwrite(f, bytes.data(), static_cast<unsigned>(bytes.size())) ==
          static_cast<int>(bytes.size()));
  gzclose(f);
  return path;
}

std::string be32(uint32_t v) {
  return {static_cast<char>(v >> 24), static_cast<char>(v >> 16), static_cast<char>(v >> 8),
          static_cast<char>(v)};
}

// An IDX image file of n images of rows × cols, pixel k of the file = k mod 256.
std::string idx_images(uint32_t n, uint32_t rows, uint32_t cols) {
  std::string s = be32(0x803) + be32(n) + be32(rows) + be32(cols);
  for (uint32_t k = 0; k < n * rows * cols; ++k)
    s.push_back(static_cast<char>(k % 256));
  return s;
}

std::string idx_labels(const std::vector<int>& labels) {
  std::string s = be32(0x801) + be32(static_cast<uint32_t>(labels.size()));
  for (int l : labels)
    s.push_back(static_cast<char>(l));
  return s;
}

} // namespace

TEST_CASE("read_mnist: the real t10k files", "[data][mnist]") {
  require_real_files();
  const kiln::data::Dataset d = kiln::data::read_mnist(kImages, kLabels);
  REQUIRE(d.rows() == 10000);
  REQUIRE(d.x.cols() == 784);
  REQUIRE(d.labels.size() == 10000);
  CHECK(d.num_classes == 10);
  CHECK(d.is_classification());
  CHECK(d.x.minCoeff() == 0.0f);
  CHECK(d.x.maxCoeff() == 1.0f);
  // MNIST digits are mostly background: the mean intensity of the test set is about 0.13.
  CHECK(d.x.mean() == Approx(0.1325).margin(0.005));

  // Spot checks against the bytes of the file itself, read with zlib directly.
  const std::string images = gunzip(kImages), labels = gunzip(kLabels);
  REQUIRE(images.size() == 16 + 10000u * 784u);
  REQUIRE(labels.size() == 8 + 10000u);
  for (int i : {0, 1, 4321, 9999}) {
    CHECK(d.labels(i) == static_cast<unsigned char>(labels[8 + static_cast<size_t>(i)]));
    for (int p : {0, 350, 406, 783}) {
      const auto byte = static_cast<unsigned char>(images[16 + static_cast<size_t>(i) * 784 + p]);
      CHECK(d.x(i, p) == static_cast<float>(byte) / 255.0f);
    }
  }
  std::vector<int> histogram(10, 0);
  for (int i = 0; i < d.rows(); ++i)
    ++histogram.at(static_cast<size_t>(d.labels(i)));
  CHECK(std::accumulate(histogram.begin(), histogram.end(), 0) == 10000);
  // The published class counts of the MNIST test set.
  CHECK(histogram == std::vector<int>{980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009});
}

TEST_CASE("read_mnist: plain (uncompressed) IDX files read the same as gzip", "[data][mnist]") {
  require_real_files();
  const TempDir dir("mnist-plain");
  const std::string images = dir.write("images.idx", gunzip(kImages));
  const std::string labels = dir.write("labels.idx", gunzip(kLabels));
  const kiln::data::Dataset plain = kiln::data::read_mnist(images, labels);
  const kiln::data::Dataset gz = kiln::data::read_mnist(kImages, kLabels);
  CHECK(plain.x == gz.x);
  CHECK(plain.labels == gz.labels);
}

TEST_CASE("read_mnist_images: small files, any image size", "[data][mnist]") {
  const TempDir dir("mnist-small");
  const std::string path = gzip_file(dir.file("small.gz"), idx_images(3, 2, 5));
  const kiln::MatrixRM x = kiln::data::read_mnist_images(path);
  REQUIRE(x.rows() == 3);
  REQUIRE(x.cols() == 10);
  CHECK(x(0, 0) == 0.0f);
  CHECK(x(2, 9) == 29.0f / 255.0f);
  const Eigen::VectorXi l =
      kiln::data::read_mnist_labels(dir.write("l.idx", idx_labels({9, 0, 3})));
  CHECK(l == Eigen::Vector3i(9, 0, 3));
}

TEST_CASE("read_mnist: every broken file gets a message that names it", "[data][mnist][errors]") {
  const TempDir dir("mnist-errors");
  const std::string missing = dir.file("nope.gz");
  CHECK(data_error_of([&] { kiln::data::read_mnist_images(missing); }) ==
        "[mnist] " + missing + ": no such file");
  CHECK(data_error_of([&] { kiln::data::read_mnist_images(dir.file("")); }) ==
        "[mnist] " + dir.file("") + ": is a directory, not an IDX file");

  const std::string labels_as_images = dir.write("labels.idx", idx_labels({1, 2}));
  CHECK(data_error_of([&] { kiln::data::read_mnist_images(labels_as_images); }) ==
        "[mnist] " + labels_as_images +
            ": bad magic number: expected 0x00000803, got 0x00000801 (an IDX label file; images "
            "were expected)");
  const std::string images_as_labels = dir.write("images.idx", idx_images(1, 2, 2));
  CHECK(data_error_of([&] { kiln::data::read_mnist_labels(images_as_labels); }) ==
        "[mnist] " + images_as_labels +
            ": bad magic number: expected 0x00000801, got 0x00000803 (an IDX image file; labels "
            "were expected)");
  const std::string text = dir.write("text.csv", "1,2,3\n4,5,6\n");
  CHECK(data_error_of([&] { kiln::data::read_mnist_labels(text); }) ==
        "[mnist] " + text + ": bad magic number: expected 0x00000801, got 0x312c322c");

  const std::string short_header = dir.write("short.idx", be32(0x803) + be32(10) + "\1");
  CHECK(data_error_of([&] { kiln::data::read_mnist_images(short_header); }) ==
        "[mnist] " + short_header + ": truncated header: expected 16 bytes, got 9");
  const std::string huge =
      dir.write("huge.idx", be32(0x803) + be32(4000000000u) + be32(60000) + be32(60000));
  CHECK(data_error_of([&] { kiln::data::read_mnist_images(huge); }) ==
        "[mnist] " + huge + ": implausible header: 4000000000 images of 60000 x 60000 pixels");

  std::string cut = idx_images(4, 28, 28);
  cut.resize(cut.size() - 100);
  const std::string truncated_plain = dir.write("cut.idx", cut);
  CHECK(data_error_of([&] { kiln::data::read_mnist_images(truncated_plain); }) ==
        "[mnist] " + truncated_plain + ": truncated pixel data: expected 3136 bytes, got 3036");
  const std::string truncated_labels = dir.write("cut-labels.idx", be32(0x801) + be32(5) + "\1\2");
  CHECK(data_error_of([&] { kiln::data::read_mnist_labels(truncated_labels); }) ==
        "[mnist] " + truncated_labels + ": truncated label data: expected 5 bytes, got 2");

  // A gzip file cut short: zlib says the stream ends early.
  std::string gz;
  {
    const std::string full = gzip_file(dir.file("full.gz"), idx_images(4, 28, 28));
    std::ifstream in(full, std::ios::binary);
    gz.assign(std::istreambuf_iterator<char>(in), {});
  }
  const std::string truncated_gz = dir.write("cut.gz", gz.substr(0, gz.size() / 2));
  const std::string msg = data_error_of([&] { kiln::data::read_mnist_images(truncated_gz); });
  CHECK_THAT(msg, Catch::StartsWith("[mnist] " + truncated_gz +
                                    ": truncated pixel data: expected "
                                    "3136 bytes, got "));
  CHECK_THAT(msg, Catch::EndsWith(" (the gzip stream ends early)"));

  // The gzip magic followed by garbage.
  const std::string bad_gz =
      dir.write("bad.gz", std::string("\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03", 10) +
                              std::string(64, '\xff'));
  CHECK(data_error_of([&] { kiln::data::read_mnist_images(bad_gz); }) ==
        "[mnist] " + bad_gz + ": corrupt gzip data (zlib: invalid block type)");

  const std::string out_of_range = dir.write("labels12.idx", idx_labels({3, 12, 4}));
  CHECK(data_error_of([&] { kiln::data::read_mnist_labels(out_of_range); }) ==
        "[mnist] " + out_of_range + ": label 12 at index 1 is out of range [0, 10)");

  const std::string three = dir.write("three.idx", idx_images(3, 28, 28));
  const std::string two = dir.write("two.idx", idx_labels({1, 2}));
  CHECK(data_error_of([&] { kiln::data::read_mnist(three, two); }) ==
        "[mnist] image/label count mismatch: " + three + " has 3 images, " + two + " has 2 labels");
}

TEST_CASE("read_mnist_dir: the shipped test split, and a directory of plain files",
          "[data][mnist]") {
  require_real_files();
  const kiln::data::MnistDir shipped = kiln::data::read_mnist_dir(kMnistDir);
  CHECK(shipped.train.rows() == 0); // only t10k ships
  CHECK(shipped.test.rows() == 10000);
  CHECK(shipped.test.x == kiln::data::read_mnist(kImages, kLabels).x);
  const TempDir dir("mnist-dir");
  dir.write("train-images-idx3-ubyte", idx_images(3, 2, 2));
  dir.write("train-labels-idx1-ubyte", idx_labels({1, 2, 3}));
  const kiln::data::MnistDir d = kiln::data::read_mnist_dir(dir.file(""));
  CHECK(d.train.rows() == 3);
  CHECK(d.train.labels == Eigen::Vector3i(1, 2, 3));
  CHECK(d.test.rows() == 0);
}

TEST_CASE("read_mnist_dir: errors name the directory and what is missing",
          "[data][mnist][errors]") {
  const TempDir dir("mnist-dir-errors");
  CHECK_THROWS_AS(kiln::data::read_mnist_dir(dir.file("")), kiln::DataError);
  CHECK_THROWS_WITH(kiln::data::read_mnist_dir(dir.file("")),
                    Catch::Contains("has no MNIST-style data (train-images-idx3-ubyte"));
  dir.write("t10k-images-idx3-ubyte.gz", idx_images(1, 2, 2));
  CHECK_THROWS_WITH(kiln::data::read_mnist_dir(dir.file("")),
                    Catch::Contains("has t10k-images but no labels"));
}
