#pragma once
// Splitting a step into translation units that compile side by side: clang's time grows with
// the size of a unit, not with the number of units, so on n cores a step split into n runs of
// consecutive groups compiles in about 1/n of the time.

#include <cstddef>
#include <vector>

#include "codegen/share_groups.h"

namespace kiln::codegen {

/**
 * Where each unit's run of `shared.blocks` starts (always 0 first): up to max_units runs of
 * about equal cost, counting a block's lines (a call of a kiln math function as 5) and, once per
 * unit, those of the shared function it calls; a unit ends where it would pass its share by
 * more than half of the next block; no run under ~80 lines, so small steps stay whole. Pure.
 */
std::vector<size_t> unit_starts(const SharedGroups& shared, int max_units);

} // namespace kiln::codegen
