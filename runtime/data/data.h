#pragma once
// Everything in kiln_data: data sets as Eigen matrices, the course's synthetic sets, MNIST and
// CSV files.

#include "runtime/data/csv.h"
#include "runtime/data/dataset.h"
#include "runtime/data/mnist.h"
#include "runtime/data/synthetic.h"
