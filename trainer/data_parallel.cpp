#include "trainer/data_parallel.h"

#include <algorithm>
#include <chrono>
#include <cstring>
#include <exception>
#include <map>

#include "base/error.h"
#include "base/rng.h"
#include "codegen/cpu/gradient_ready.h"
#include "runtime/program.h"

namespace kiln {

using codegen::Slot;

namespace {

size_t slot_bytes(const Slot& s) {
  return static_cast<size_t>(s.type.shape.static_numel()) * ir::dtype_bytes(s.type.dtype);
}

} // namespace

std::vector<int64_t> epoch_permutation(int64_t n, uint64_t seed) {
  std::vector<int64_t> perm(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i)
    perm[static_cast<size_t>(i)] = i;
  Rng rng(seed);
  for (int64_t i = n - 1; i > 0; --i)
    std::swap(perm[static_cast<size_t>(i)], perm[rng.below(static_cast<uint32_t>(i + 1))]);
  return perm;
}

DataParallelEpoch::DataParallelEpoch(Executable gradients, std::shared_ptr<Communicator> comm)
    : grad_(std::move(gradients)), comm_(std::move(comm)) {
  const auto& slots = grad_.schedule().slots;
  grad_offset_.assign(slots.size(), -1);
  rows_.resize(slots.size());
  // Gradients first, then the scalars, each at its offset in the flat buffer.
  size_t total = 0;
  std::vector<size_t> scalars;
  for (size_t i = 0; i < slots.size(); ++i) {
    const Slot& s = slots[i];
    if (s.role != Slot::Role::Output)
      continue;
    const bool grad = s.name.starts_with("grad:");
    if (s.type.dtype != ir::DType::F32 || (!grad && !s.type.shape.is_scalar()))
      throw Error(str("[data parallel] output '", s.name, "' is ", s.type,
                      "; only f32 gradients and f32 scalars can be averaged over the ranks"));
    if (!grad) {
      scalars.push_back(i);
      continue;
    }
    grad_offset_[i] = static_cast<ptrdiff_t>(total);
    total += static_cast<size_t>(s.type.shape.static_numel());
  }
  scalar_offset_ = total;
  for (size_t i : scalars) {
    grad_offset_[i] = static_cast<ptrdiff_t>(total++);
    scalar_names_.push_back(slots[i].name);
  }
  auto loss = std::find(scalar_names_.begin(), scalar_names_.end(), "loss");
  if (loss == scalar_names_.end())
    throw Error("[data parallel] the gradient graph has no output 'loss'");
  flat_.assign(total, 0.0f);
  // The order the kernel reports its gradients in, when it does (its groups' order).
  if (!grad_.device().is_cuda() && !grad_.kernel().ready_symbol.empty())
    for (const std::vector<int>& after :
         codegen::gradients_ready_after(grad_.schedule(), grad_.kernel().row_block > 0))
      ready_order_.insert(ready_order_.end(), after.begin(), after.end());
}

/** One overlapped step's sums in flight. */
struct DataParallelEpoch::Overlap {
  DataParallelEpoch& epoch;
  float share;
  /** By slot: reported final. */
  std::vector<char> ready;
  /** ready_order_[0..next) are started. */
  size_t next = 0;
  std::vector<Communicator::Request> started;
  double seconds = 0;
  /** An error inside the hook, rethrown after the kernel (it must not unwind through it). */
  std::exception_ptr error;

  /** Starts the sums of the gradients that are final, in ready_order_ on every rank. */
  void start_ready() {
    const std::vector<int>& order = epoch.ready_order_;
    for (; next < order.size() && ready[static_cast<size_t>(order[next])]; ++next) {
      const size_t slot = static_cast<size_t>(order[next]);
      float* g = epoch.flat_.data() + epoch.grad_offset_[slot];
      const size_t n =
          static_cast<size_t>(epoch.grad_.schedule().slots[slot].type.shape.static_numel());
      for (size_t i = 0; i < n; ++i) // as the step without overlap scales it
        g[i] *= share;
      started.push_back(epoch.comm_->iallreduce_sum(g, n));
    }
  }
};

void DataParallelEpoch::gradient_ready(void* overlap, int slot) {
  auto& o = *static_cast<Overlap*>(overlap);
  if (o.error)
    return;
  const auto t0 = std::chrono::steady_clock::now();
  try {
    o.ready[static_cast<size_t>(slot)] = 1;
    o.start_ready();
    for (Communicator::Request r : o.started) // MPI progresses only inside its calls
      o.epoch.comm_->test(r);
  } catch (...) {
    o.error = std::current_exception();
  }
  o.seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

void DataParallelEpoch::overlapped_step(int64_t rows, void* const* slots, float share) {
  Overlap o{*this, share, std::vector<char>(grad_offset_.size(), 0)};
  if (rows > 0) {
    const runtime::GradientReadyHook hook{&DataParallelEpoch::gradient_ready, &o};
    grad_.program().set_gradient_ready(&hook);
    try {
      grad_.call(rows, slots);
    } catch (...) {
      grad_.program().set_gradient_ready(nullptr);
      throw;
    }
    grad_.program().set_gradient_ready(nullptr);
    if (o.error)
      std::rethrow_exception(o.error);
  } else {
    std::fill(flat_.begin(), flat_.end(), 0.0f);
  }
  const auto t0 = std::chrono::steady_clock::now();
  std::fill(o.ready.begin(), o.ready.end(), 1); // a rank without rows: every gradient is zero
  o.start_ready();
  float* scalars = flat_.data() + scalar_offset_;
  for (size_t k = 0; k < scalar_names_.size(); ++k)
    scalars[k] *= share;
  comm_->allreduce_sum(scalars, scalar_names_.size());
  for (Communicator::Request r : o.started)
    comm_->wait(r);
  allreduce_s_ +=
      o.seconds + std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

void DataParallelEpoch::bind(Executable& update) {
  for (const std::string& p : grad_.param_names())
    grad_.bind_param(p, update.param_data(p));
  if (!grad_.device().is_cuda())
    return;
  nccl_ = std::make_unique<NcclStep>(comm_, grad_, update);
  device_flat_ = nccl_->alloc(flat_.size() * sizeof(float));
  device_lr_ = nccl_->alloc(sizeof(float));
  device_rows_.assign(rows_.size(), nullptr);
  device_row_bytes_.assign(rows_.size(), 0);
}

std::vector<double> DataParallelEpoch::run(Executable& update, const std::vector<DataColumn>& data,
                                           int64_t n, int64_t batch, bool shuffle, uint64_t seed,
                                           double lr, bool overlap) {
  if (n < 1 || batch < 1)
    throw Error(str("[data parallel] n and batch must be >= 1, got ", n, " and ", batch));
  const int64_t rank = comm_->rank(), ranks = comm_->size();
  const int64_t local_max = (batch + ranks - 1) / ranks;
  const bool gpu = nccl_ != nullptr;
  if (overlap && (gpu || ready_order_.empty()))
    throw Error("[data parallel] overlap: the gradient kernel does not report its gradients (it "
                "needs CompileOptions::gradient_ready_hook, on the CPU)");
  // Where the kernels find the flat buffer: host memory, or its copy on the device.
  auto flat = [&](size_t offset) -> void* {
    return gpu ? static_cast<float*>(device_flat_) + offset : flat_.data() + offset;
  };

  // The gradient kernel's slots: params bound to the update's, data rows, the flat buffer.
  const auto& gs = grad_.schedule().slots;
  std::vector<void*> gslots(gs.size(), nullptr);
  std::vector<const DataColumn*> column(gs.size(), nullptr);
  std::map<std::string, void*> grad_of;
  for (size_t i = 0; i < gs.size(); ++i) {
    switch (gs[i].role) {
    case Slot::Role::Param:
      gslots[i] = grad_.param_data(gs[i].name);
      break;
    case Slot::Role::Output:
      gslots[i] = flat(static_cast<size_t>(grad_offset_[i]));
      grad_of[gs[i].name] = gslots[i];
      break;
    case Slot::Role::Input:
      for (const DataColumn& c : data)
        if (c.name == gs[i].name)
          column[i] = &c;
      if (!column[i])
        throw Error(str("[data parallel] the gradient graph's input '", gs[i].name,
                        "' is not a column of the data set"));
      rows_[i].resize(static_cast<size_t>(local_max) * column[i]->row_bytes);
      gslots[i] = rows_[i].data();
      if (gpu && device_row_bytes_[i] < rows_[i].size()) {
        device_rows_[i] = nccl_->alloc(rows_[i].size());
        device_row_bytes_[i] = rows_[i].size();
      }
      if (gpu)
        gslots[i] = device_rows_[i];
      break;
    case Slot::Role::Scratch:
      break;
    }
  }
  // The update kernel's slots: the summed gradients in the flat buffer, lr, its own params.
  const float lr_f = static_cast<float>(lr);
  const auto& us = update.schedule().slots;
  std::vector<void*> uslots(us.size(), nullptr);
  std::vector<std::vector<std::byte>> outputs(us.size());
  if (gpu) {
    nccl_->upload(device_lr_, &lr_f, sizeof lr_f);
    device_outputs_.resize(us.size(), nullptr);
  }
  for (size_t i = 0; i < us.size(); ++i) {
    if (us[i].role == Slot::Role::Param) {
      uslots[i] = update.param_data(us[i].name);
    } else if (us[i].role == Slot::Role::Output && gpu) {
      if (!device_outputs_[i]) // written by the kernel, read by nobody: allocated once
        device_outputs_[i] = nccl_->alloc(slot_bytes(us[i]));
      uslots[i] = device_outputs_[i];
    } else if (us[i].role == Slot::Role::Output) {
      outputs[i].resize(slot_bytes(us[i]));
      uslots[i] = outputs[i].data();
    } else if (us[i].role == Slot::Role::Input && us[i].name == "lr") {
      uslots[i] = gpu ? device_lr_ : const_cast<float*>(&lr_f);
    } else if (us[i].role == Slot::Role::Input) {
      auto it = grad_of.find(us[i].name);
      if (it == grad_of.end())
        throw Error(str("[data parallel] the update reads '", us[i].name,
                        "', which the gradient graph does not compute"));
      uslots[i] = it->second;
    }
  }

  std::vector<int64_t> perm(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i)
    perm[static_cast<size_t>(i)] = i;
  if (shuffle)
    perm = epoch_permutation(n, seed);
  std::vector<double> sums(scalar_names_.size(), 0.0);
  for (int64_t b0 = 0; b0 < n; b0 += batch) {
    const int64_t nb = std::min(batch, n - b0);
    const int64_t lo = b0 + nb * rank / ranks, hi = b0 + nb * (rank + 1) / ranks;
    if (hi > lo) {
      for (size_t i = 0; i < gs.size(); ++i) {
        if (!column[i])
          continue;
        const size_t rb = column[i]->row_bytes;
        const auto* src = static_cast<const std::byte*>(column[i]->data);
        for (int64_t r = lo; r < hi; ++r)
          std::memcpy(rows_[i].data() + static_cast<size_t>(r - lo) * rb,
                      src + static_cast<size_t>(perm[static_cast<size_t>(r)]) * rb, rb);
        if (gpu)
          nccl_->upload(device_rows_[i], rows_[i].data(), static_cast<size_t>(hi - lo) * rb);
      }
    }
    // Each rank's means weighted by its share of the batch: their sum is the batch's mean.
    const float share = static_cast<float>(hi - lo) / static_cast<float>(nb);
    if (gpu) {
      if (hi > lo) {
        nccl_->enqueue(grad_, hi - lo, gslots.data());
      } else {
        std::fill(flat_.begin(), flat_.end(), 0.0f);
        nccl_->upload(device_flat_, flat_.data(), flat_.size() * sizeof(float));
      }
      const auto t0 = std::chrono::steady_clock::now();
      nccl_->allreduce_scaled(device_flat_, flat_.size(), share); // NCCL scales by the share
      allreduce_s_ += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      nccl_->enqueue(update, 1, uslots.data());
      nccl_->download(flat_.data() + scalar_offset_, flat(scalar_offset_),
                      scalar_names_.size() * sizeof(float));
    } else if (!overlap) {
      if (hi > lo) {
        grad_.call(hi - lo, gslots.data());
        for (float& v : flat_)
          v *= share;
      } else {
        std::fill(flat_.begin(), flat_.end(), 0.0f);
      }
      const auto t0 = std::chrono::steady_clock::now();
      comm_->allreduce_sum(flat_.data(), flat_.size());
      allreduce_s_ += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      update.call(1, uslots.data());
    } else {
      overlapped_step(hi - lo, gslots.data(), share);
      update.call(1, uslots.data());
    }
    for (size_t k = 0; k < sums.size(); ++k)
      sums[k] += static_cast<double>(flat_[scalar_offset_ + k]) * static_cast<double>(nb);
  }
  std::vector<double> out;
  for (double s : sums)
    out.push_back(s / static_cast<double>(n));
  return out;
}

} // namespace kiln
