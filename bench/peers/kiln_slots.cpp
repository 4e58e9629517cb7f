#include "bench/peers/kiln_slots.h"

#include "base/error.h"

namespace kiln::bench {

void StepSlots::bind(Executable& exe, float learning_rate, int64_t rows) {
  lr = learning_rate;
  const std::vector<codegen::Slot>& slots = exe.kernel().schedule.slots;
  table.assign(slots.size(), nullptr);
  outputs.clear();
  outputs.reserve(slots.size());
  bool has_lr = false;
  for (size_t i = 0; i < slots.size(); ++i) {
    const codegen::Slot& sl = slots[i];
    if (sl.role == codegen::Slot::Role::Param)
      table[i] = exe.param_data(sl.name);
    if (sl.role == codegen::Slot::Role::Output) {
      if (sl.name == "loss") {
        table[i] = &loss;
      } else {
        outputs.emplace_back(static_cast<size_t>(sl.type.shape.numel(rows)));
        table[i] = outputs.back().data();
      }
    }
    if (sl.name == "c")
      c = i;
    if (sl.name == "y")
      y = i;
    if (sl.name == "lr") {
      table[i] = &lr;
      has_lr = true;
    }
  }
  KILN_ASSERT(has_lr, "the bench step ", exe.kernel().name, " has no input 'lr'");
}

} // namespace kiln::bench
