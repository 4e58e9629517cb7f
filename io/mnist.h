#pragma once
// MNIST (and the other data sets stored the same way, e.g. Fashion-MNIST) in LeCun's IDX format:
// a big-endian header (magic 0x00000803 for images, 0x00000801 for labels, then the dimensions)
// followed by unsigned bytes. Files may be gzip-compressed or plain; zlib reads both the same
// way. Every problem throws kiln::DataError naming the file and what was wrong.

#include "io/dataset.h"

#include <string>

namespace kiln::data {

/**
 * Reads an IDX image file (magic 0x00000803, dimensions n × rows × cols). Returns [n, rows·cols]
 * floats, pixel / 255 in [0, 1], each image's pixels row by row. Throws kiln::DataError when the
 * file is missing, is not gzip or IDX data, has the wrong magic number, or is shorter than its
 * header says.
 */
MatrixRM read_mnist_images(const std::string& path);

/**
 * Reads an IDX label file (magic 0x00000801, dimension n). Returns the n labels. Throws
 * kiln::DataError for the same problems as read_mnist_images, and when a label is outside
 * [0, num_classes).
 */
Eigen::VectorXi read_mnist_labels(const std::string& path, int num_classes = 10);

/**
 * An MNIST split from its image and label files: x = pixels / 255 ([n, 784] for MNIST), labels,
 * num_classes = 10. Throws kiln::DataError for any problem with either file, and when the two
 * files hold different numbers of samples.
 */
Dataset read_mnist(const std::string& images_path, const std::string& labels_path);

/** The two splits of an MNIST-style directory; a split whose files are missing is empty. */
struct MnistDir {
  Dataset train;
  Dataset test;
};

/**
 * Reads `dir` as the MNIST and Fashion-MNIST distributions lay it out:
 * train-images-idx3-ubyte and train-labels-idx1-ubyte, t10k-images-idx3-ubyte and
 * t10k-labels-idx1-ubyte, each plain or with ".gz". Throws kiln::DataError when the directory
 * holds neither split, when a split has images but no labels (or labels but no images), and for
 * any problem read_mnist reports.
 */
MnistDir read_mnist_dir(const std::string& dir);

} // namespace kiln::data
