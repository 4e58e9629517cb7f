#include "io/mnist.h"

#include "base/error.h"

#include <zlib.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <iomanip>
#include <sstream>
#include <vector>

namespace kiln::data {

namespace {

constexpr uint32_t kImageMagic = 0x00000803; // unsigned bytes, 3 dimensions
constexpr uint32_t kLabelMagic = 0x00000801; // unsigned bytes, 1 dimension

std::string hex32(uint32_t v) {
  std::ostringstream os;
  os << "0x" << std::hex << std::setw(8) << std::setfill('0') << v;
  return os.str();
}

// One IDX file, gzip or plain (gzread passes plain files through unchanged).
class IdxFile {
public:
  explicit IdxFile(const std::string& path) : path_(path) {
    std::error_code ec;
    if (!std::filesystem::exists(path, ec))
      fail("no such file");
    if (std::filesystem::is_directory(path, ec))
      fail("is a directory, not an IDX file");
    file_ = gzopen(path.c_str(), "rb");
    if (file_ == nullptr)
      fail(str("cannot open: ", std::strerror(errno)));
  }
  IdxFile(const IdxFile&) = delete;
  IdxFile& operator=(const IdxFile&) = delete;
  ~IdxFile() {
    if (file_ != nullptr)
      gzclose(file_);
  }

  [[noreturn]] void fail(const std::string& why) const {
    throw DataError(str("[mnist] ", path_, ": ", why));
  }

  // Reads up to n bytes; fewer only at the end of the data. Corrupt gzip data throws.
  std::vector<unsigned char> read_up_to(uint64_t n) {
    std::vector<unsigned char> out;
    // Grow as the data arrives, so a corrupt header that claims terabytes allocates nothing.
    constexpr uint64_t kChunk = 1u << 20;
    while (out.size() < n) {
      const auto want = static_cast<unsigned>(std::min<uint64_t>(kChunk, n - out.size()));
      const size_t have = out.size();
      out.resize(have + want);
      const int got = gzread(file_, out.data() + have, want);
      if (got < 0)
        gzip_fail();
      out.resize(have + static_cast<size_t>(got));
      if (got == 0)
        break;
    }
    return out;
  }

  // Reads exactly n bytes of `what`, or throws saying how many there were.
  std::vector<unsigned char> read_exact(uint64_t n, const char* what) {
    std::vector<unsigned char> out = read_up_to(n);
    if (out.size() < n) {
      int code = Z_OK;
      gzerror(file_, &code);
      fail(str("truncated ", what, ": expected ", n, " bytes, got ", out.size(),
               code == Z_BUF_ERROR ? " (the gzip stream ends early)" : ""));
    }
    return out;
  }

  // Reads the magic number and `dims` dimensions; throws unless the magic is `magic`.
  std::vector<uint64_t> read_header(uint32_t magic, int dims) {
    const uint64_t size = 4 * (1 + static_cast<uint64_t>(dims));
    const std::vector<unsigned char> b = read_up_to(size);
    const auto u32 = [&](size_t at) {
      return (uint32_t{b[at]} << 24) | (uint32_t{b[at + 1]} << 16) | (uint32_t{b[at + 2]} << 8) |
             uint32_t{b[at + 3]};
    };
    if (b.size() >= 4 && u32(0) != magic) {
      std::string hint;
      if (u32(0) == kLabelMagic)
        hint = " (an IDX label file; images were expected)";
      if (u32(0) == kImageMagic)
        hint = " (an IDX image file; labels were expected)";
      fail(str("bad magic number: expected ", hex32(magic), ", got ", hex32(u32(0)), hint));
    }
    if (b.size() < size)
      fail(str("truncated header: expected ", size, " bytes, got ", b.size()));
    std::vector<uint64_t> out;
    for (int d = 0; d < dims; ++d)
      out.push_back(u32(4 + 4 * static_cast<size_t>(d)));
    return out;
  }

private:
  [[noreturn]] void gzip_fail() const {
    int code = Z_OK;
    std::string msg = gzerror(file_, &code);
    // zlib puts the path in front of its message; the error already names the file.
    if (msg.starts_with(path_ + ": "))
      msg.erase(0, path_.size() + 2);
    fail(str("corrupt gzip data (zlib: ", msg, ")"));
  }

  std::string path_;
  gzFile file_ = nullptr;
};

} // namespace

MatrixRM read_mnist_images(const std::string& path) {
  IdxFile file(path);
  const std::vector<uint64_t> dims = file.read_header(kImageMagic, 3);
  const uint64_t n = dims[0], rows = dims[1], cols = dims[2];
  // Each dimension is below 2^32, so rows · cols cannot overflow; the product with n might.
  if (rows * cols != 0 && n > (uint64_t{1} << 40) / (rows * cols))
    file.fail(str("implausible header: ", n, " images of ", rows, " x ", cols, " pixels"));
  const std::vector<unsigned char> pixels = file.read_exact(n * rows * cols, "pixel data");
  MatrixRM x(static_cast<Eigen::Index>(n), static_cast<Eigen::Index>(rows * cols));
  float* out = x.data();
  for (size_t i = 0; i < pixels.size(); ++i)
    out[i] = static_cast<float>(pixels[i]) / 255.0f;
  return x;
}

Eigen::VectorXi read_mnist_labels(const std::string& path, int num_classes) {
  IdxFile file(path);
  const uint64_t n = file.read_header(kLabelMagic, 1)[0];
  const std::vector<unsigned char> bytes = file.read_exact(n, "label data");
  Eigen::VectorXi labels(static_cast<Eigen::Index>(n));
  for (size_t i = 0; i < bytes.size(); ++i) {
    if (bytes[i] >= num_classes)
      file.fail(
          str("label ", int{bytes[i]}, " at index ", i, " is out of range [0, ", num_classes, ")"));
    labels(static_cast<Eigen::Index>(i)) = bytes[i];
  }
  return labels;
}

Dataset read_mnist(const std::string& images_path, const std::string& labels_path) {
  Dataset d;
  d.x = read_mnist_images(images_path);
  d.labels = read_mnist_labels(labels_path, 10);
  d.num_classes = 10;
  if (d.x.rows() != d.labels.size())
    throw DataError(str("[mnist] image/label count mismatch: ", images_path, " has ", d.x.rows(),
                        " images, ", labels_path, " has ", d.labels.size(), " labels"));
  return d;
}

MnistDir read_mnist_dir(const std::string& dir) {
  namespace fs = std::filesystem;
  auto find = [&](const std::string& stem) -> std::string {
    for (const char* ext : {"", ".gz"})
      if (fs::exists(fs::path(dir) / (stem + ext)))
        return (fs::path(dir) / (stem + ext)).string();
    return "";
  };
  auto split = [&](const std::string& prefix) {
    const std::string images = find(prefix + "-images-idx3-ubyte");
    const std::string labels = find(prefix + "-labels-idx1-ubyte");
    if (images.empty() != labels.empty())
      throw DataError(str("[mnist] ", dir, " has ", prefix, "-",
                          images.empty() ? "labels but no images" : "images but no labels", " (",
                          prefix, "-images-idx3-ubyte and ", prefix,
                          "-labels-idx1-ubyte, each plain or .gz)"));
    return images.empty() ? Dataset{} : read_mnist(images, labels);
  };
  MnistDir out{split("train"), split("t10k")};
  if (out.train.rows() == 0 && out.test.rows() == 0)
    throw DataError(str("[mnist] ", dir, " has no MNIST-style data (train-images-idx3-ubyte, ",
                        "t10k-images-idx3-ubyte and their labels, plain or .gz)"));
  return out;
}

} // namespace kiln::data
