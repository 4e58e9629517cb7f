#pragma once
// The whole DSL: expressions, operations, losses, layers and lowering.

#include "frontend/check_gradient.h"
#include "frontend/expr.h"
#include "frontend/image.h"
#include "frontend/losses.h"
#include "frontend/lower.h"
#include "frontend/nn.h"
#include "frontend/nn_image.h"
#include "frontend/ops.h"
