#pragma once
// Splitting a step into translation units that compile side by side: clang's time grows with
// the size of a unit, not with the number of units, so on n cores a step split into n runs of
// consecutive groups compiles in about 1/n of the time.

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "codegen/share_groups.h"

namespace kiln::codegen {

/** A unit's least compile cost: below it, the fixed cost of a unit (the prelude, clang's set-up)
    is not worth paying. */
constexpr int64_t kMinUnitCost = 80;

/** Compile cost of a piece of code, in lines: a call of a kiln math function counts 5. */
int64_t compile_cost(const std::string& text);

/**
 * Where each unit's run of `shared.blocks` starts (always 0 first): up to max_units runs of
 * about equal cost, counting a block's lines (a call of a kiln math function as 5) and, once per
 * unit, those of the shared function it calls; a unit ends where it would pass its share by
 * more than half of the next block; no run under ~80 lines, so small steps stay whole. Pure.
 */
std::vector<size_t> unit_starts(const SharedGroups& shared, int max_units);

} // namespace kiln::codegen
