#pragma once
// Running a generated CPU kernel by hand, as the codegen tests do where the Executable cannot
// (a kernel compiled with other flags, e.g. for a host without AVX-512): every slot filled from
// `values` (outputs zeroed) in the kernel's float type, the kernel called once at `batch`, and its
// outputs read back for comparison with the interpreter.

#include <cstdlib>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "codegen/cpu/renderer.h"
#include "ir/interpret.h"

namespace kiln::test {

/** The outputs of one call of `fn` (kernel `k`, floats of type `t`), by slot name, slot order. */
inline std::vector<std::pair<std::string, ir::Tensor>>
run_kernel(const codegen::CpuKernel& k, void (*fn)(long long, void* const*, void*),
           const ir::Bindings& values, int64_t batch, ir::DType t) {
  const auto& slots = k.schedule.slots;
  std::vector<std::vector<double>> f64(slots.size());
  std::vector<std::vector<float>> f32(slots.size());
  std::vector<void*> pointers;
  for (size_t s = 0; s < slots.size(); ++s) {
    const codegen::Slot& sl = slots[s];
    f64[s].assign(static_cast<size_t>(sl.type.shape.numel(batch)), 0.0);
    if (auto it = values.find(sl.name);
        it != values.end() && sl.role != codegen::Slot::Role::Output)
      f64[s] = it->second.data;
    f32[s].assign(f64[s].begin(), f64[s].end());
    pointers.push_back(t == ir::DType::F64 ? static_cast<void*>(f64[s].data())
                                           : static_cast<void*>(f32[s].data()));
  }
  const auto bytes = static_cast<size_t>(k.workspace_bytes(batch) + 127) & ~size_t{63};
  std::unique_ptr<std::byte[], void (*)(std::byte*)> ws(
      static_cast<std::byte*>(std::aligned_alloc(64, bytes)), [](std::byte* p) { std::free(p); });
  fn(batch, pointers.data(), ws.get());
  std::vector<std::pair<std::string, ir::Tensor>> out;
  for (size_t s = 0; s < slots.size(); ++s) {
    if (slots[s].role != codegen::Slot::Role::Output)
      continue;
    ir::Tensor got(slots[s].type.dtype, slots[s].type.shape.concrete(batch));
    for (size_t i = 0; i < got.data.size(); ++i)
      got.data[i] = t == ir::DType::F64 ? f64[s][i] : f32[s][i];
    out.emplace_back(slots[s].name, std::move(got));
  }
  return out;
}

} // namespace kiln::test
