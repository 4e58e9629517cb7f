// CudaProgram::run_epoch: the fused epoch (one single-block launch over the resident data
// set), or a host loop of steps over the same PCG32 shuffle where the step has none.

#include <algorithm>
#include <cstring>

#include "base/rng.h"
#include "runtime/cuda/cuda_program_impl.h"

namespace kiln::runtime {

std::vector<double> CudaProgram::run_epoch(int64_t n, int64_t batch, bool shuffle, uint64_t seed,
                                           const std::vector<const void*>& data,
                                           const std::vector<void*>& host) {
  Impl& m = *impl_;
  KILN_ASSERT(m.epoch, "run_epoch on a program compiled without an epoch");
  const auto& slots = m.k.schedule.slots;
  std::vector<size_t> data_slot, metric_slots;
  for (const std::string& name : m.epoch->data)
    data_slot.push_back(slot_named(m.k.schedule, Slot::Role::Input, name));
  for (const std::string& name : m.epoch->metrics)
    metric_slots.push_back(slot_named(m.k.schedule, Slot::Role::Output, name));
  KILN_ASSERT(data_slot.size() == data.size(), "epoch data do not match the step's inputs");
  std::vector<double> stats(metric_slots.size() + 1, 0.0);
  const bool fused = !m.k.epoch_kernel.empty() && batch <= m.k.epoch_max_batch &&
                     m.plan_for(batch).kind == CudaPlan::Kind::SingleBlock;
  if (!fused) {
    // A host loop over the mini-batches of the same shuffle (kiln::Rng is the PCG32 stream).
    std::vector<int64_t> perm(static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i)
      perm[static_cast<size_t>(i)] = i;
    if (shuffle) {
      Rng rng(seed);
      for (int64_t i = n - 1; i > 0; --i)
        std::swap(perm[static_cast<size_t>(i)], perm[rng.below(static_cast<uint32_t>(i + 1))]);
    }
    std::vector<std::vector<std::byte>> rows(data.size());
    std::vector<void*> h = host;
    for (int64_t b0 = 0; b0 < n; b0 += batch) {
      const int64_t nb = std::min(batch, n - b0);
      for (size_t d = 0; d < data.size(); ++d) {
        const size_t rb = static_cast<size_t>(slots[data_slot[d]].type.shape.static_numel()) *
                          ir::dtype_bytes(slots[data_slot[d]].type.dtype);
        rows[d].resize(rb * static_cast<size_t>(nb));
        for (int64_t r = 0; r < nb; ++r)
          std::memcpy(rows[d].data() + rb * static_cast<size_t>(r),
                      static_cast<const std::byte*>(data[d]) +
                          rb * static_cast<size_t>(perm[static_cast<size_t>(b0 + r)]),
                      rb);
        h[data_slot[d]] = rows[d].data();
      }
      run(nb, h);
      for (size_t k = 0; k < metric_slots.size(); ++k) {
        double v = 0;
        if (slots[metric_slots[k]].type.dtype == ir::DType::F64)
          v = *static_cast<const double*>(host[metric_slots[k]]);
        else
          v = *static_cast<const float*>(host[metric_slots[k]]);
        stats[k] += v * static_cast<double>(nb);
      }
    }
    stats.back() = static_cast<double>(n);
    return stats;
  }
  m.check_batch(std::max(n, batch));
  const CudaPlan& p = m.plan_for(batch);
  m.prepare(p, batch);
  for (size_t s = 0; s < slots.size(); ++s)
    if (slots[s].role == Slot::Role::Input && host[s] &&
        std::find(data_slot.begin(), data_slot.end(), s) == data_slot.end())
      m.upload(m.ptr[s], host[s], bytes_of(slots[s], batch));
  m.data.resize(data.size());
  for (size_t d = 0; d < data.size(); ++d) {
    const size_t bytes = bytes_of(slots[data_slot[d]], n);
    if (m.data[d].size() < bytes)
      m.data[d] = DeviceBuffer(bytes, m.device);
    m.upload(m.data[d].get(), data[d], bytes);
  }
  const auto ews = static_cast<size_t>(m.k.epoch_workspace_bytes(n, batch));
  if (m.epoch_ws.size() < ews)
    m.epoch_ws = DeviceBuffer(ews, m.device);
  if (m.stats.size() < stats.size() * sizeof(double))
    m.stats = DeviceBuffer(stats.size() * sizeof(double), m.device);
  m.upload(m.stats.get(), stats.data(), stats.size() * sizeof(double));
  int n32 = static_cast<int>(n), b32 = static_cast<int>(batch), sh = shuffle ? 1 : 0;
  unsigned long long seed64 = seed;
  std::vector<CUdeviceptr> a = m.ptr;
  for (const DeviceBuffer& d : m.data)
    a.push_back(d.get());
  a.push_back(m.epoch_ws.get());
  a.push_back(m.stats.get());
  std::vector<void*> args{&n32, &b32, &sh, &seed64};
  for (CUdeviceptr& x : a)
    args.push_back(&x);
  launch(m.functions(p).at(m.k.epoch_kernel), {1}, {static_cast<unsigned>(m.k.epoch_block)},
         static_cast<unsigned>(m.k.epoch_shared_bytes(batch)), *m.stream, args.data());
  m.download(stats.data(), m.stats.get(), stats.size() * sizeof(double));
  return stats;
}

} // namespace kiln::runtime
