// The IDX (MNIST) readers (io/mnist.h) on arbitrary bytes, gzip or plain: images in [0, 1] and
// labels in range, or a kiln::Error naming the file.

#include "fuzz_support.h"
#include "io/mnist.h"

#include "base/error.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const kiln::fuzz::MemoryFile file(data, size);
  try {
    const kiln::MatrixRM images = kiln::data::read_mnist_images(file.path());
    if (images.size() > 0 && (images.minCoeff() < 0.0f || images.maxCoeff() > 1.0f))
      kiln::fuzz::violated("a pixel outside [0, 1]");
  } catch (const kiln::Error&) {
  }
  try {
    const Eigen::VectorXi labels = kiln::data::read_mnist_labels(file.path(), 10);
    if (labels.size() > 0 && (labels.minCoeff() < 0 || labels.maxCoeff() >= 10))
      kiln::fuzz::violated("a label outside [0, 10)");
  } catch (const kiln::Error&) {
  }
  return 0;
}
