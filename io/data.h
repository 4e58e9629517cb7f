#pragma once
// Everything in kiln_data: data sets as Eigen matrices, the course's synthetic sets, MNIST and
// CSV files.

#include "io/csv.h"
#include "io/dataset.h"
#include "io/mnist.h"
#include "io/synthetic.h"
