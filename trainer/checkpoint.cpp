#include "trainer/checkpoint.h"

#include <charconv>
#include <climits>
#include <cmath>
#include <cstring>

#include "base/error.h"

namespace kiln::detail {

namespace {

[[noreturn]] void fail(const std::string& path, const std::string& why) {
  throw DataError(str("[checkpoint] ", path, ": ", why));
}

std::string names_of(const std::vector<TensorSlot>& slots) {
  std::string out;
  for (const TensorSlot& s : slots)
    out += (out.empty() ? "" : ", ") + s.name;
  return out;
}

MatrixRM checked_values(const std::string& path, const TensorSlot& slot, const HostTensor& t) {
  const std::string want = HostTensor::shape_text(slot.dims);
  if (t.dtype != ir::DType::F32)
    fail(path,
         str("tensor '", slot.name, "' is ", ir::to_string(t.dtype), " ",
             HostTensor::shape_text(t.shape), " (", t.numel(), " values); the network needs f32 ",
             want, " (convert it, e.g. tensor.float() in PyTorch)"));
  if (t.shape != slot.dims)
    fail(path, str("tensor '", slot.name, "' is ", HostTensor::shape_text(t.shape),
                   ", the network needs ", want));
  const std::span<const float> v = t.view<float>();
  for (size_t i = 0; i < v.size(); ++i)
    if (!std::isfinite(v[i]))
      fail(path, str("tensor '", slot.name, "' holds ", v[i], " at index ", i,
                     "; checkpoint values must be finite"));
  const auto [rows, cols] = matrix_dims(slot.dims);
  MatrixRM m(rows, cols);
  if (!v.empty())
    std::memcpy(m.data(), v.data(), v.size_bytes());
  return m;
}

} // namespace

std::pair<int64_t, int64_t> matrix_dims(const std::vector<int64_t>& dims) {
  int64_t n = 1;
  for (int64_t d : dims)
    n *= d;
  if (dims.empty())
    return {1, 1};
  if (dims.size() == 1)
    return {n, 1};
  return {dims[0], dims[0] == 0 ? 0 : n / dims[0]};
}

std::optional<int> parse_epochs_done(const std::string& text) {
  int v = 0;
  const char* end = text.data() + text.size();
  // from_chars takes a leading '-'; the count never has a sign.
  if (text.empty() || text[0] < '0' || text[0] > '9')
    return std::nullopt;
  const auto [p, ec] = std::from_chars(text.data(), end, v);
  if (ec != std::errc() || p != end)
    return std::nullopt;
  return v;
}

CheckpointValues check_checkpoint(const Safetensors& file, const std::string& path,
                                  const CheckpointLayout& layout, bool weights_only) {
  CheckpointValues out;
  auto find = [&](const TensorSlot& s) -> const HostTensor* {
    const auto it = file.tensors.find(s.name);
    return it == file.tensors.end() ? nullptr : &it->second;
  };
  for (const TensorSlot& p : layout.params) {
    const HostTensor* t = find(p);
    if (t == nullptr)
      fail(path, str("no tensor '", p.name, "', a parameter of the network (f32 ",
                     HostTensor::shape_text(p.dims), ")"));
    out.tensors.emplace_back(p.name, checked_values(path, p, *t));
  }
  // The optimizer state is all there or, for weights, may be missing altogether.
  size_t state_found = 0;
  for (const TensorSlot& s : layout.state)
    state_found += find(s) != nullptr;
  for (const TensorSlot& s : layout.state) {
    const HostTensor* t = find(s);
    if (t == nullptr && (!weights_only || state_found > 0))
      fail(path, str("no tensor '", s.name, "' of the optimizer's state",
                     weights_only ? " (the file has part of it)"
                                  : "; a file of weights only loads with Trainer::load_weights()"));
    if (t == nullptr)
      continue;
    MatrixRM m = checked_values(path, s, *t);
    if (!weights_only)
      out.tensors.emplace_back(s.name, std::move(m));
  }
  const size_t known = layout.params.size() + state_found;
  if (file.tensors.size() != known)
    for (const auto& [name, t] : file.tensors) {
      bool ours = false;
      for (const auto* list : {&layout.params, &layout.state})
        for (const TensorSlot& s : *list)
          ours = ours || s.name == name;
      if (!ours)
        fail(path, str("tensor '", name, "' is not a parameter of the network (it has ",
                       names_of(layout.params), ") nor optimizer state"));
    }
  if (weights_only)
    return out;
  if (const auto it = file.metadata.find("epochs_done"); it != file.metadata.end()) {
    out.epochs_done = parse_epochs_done(it->second);
    if (!out.epochs_done)
      fail(path, str("metadata epochs_done is '", it->second,
                     "', expected a whole number of epochs (digits only, below 2^31)"));
  }
  return out;
}

HostTensor to_tensor(const MatrixRM& m, const std::vector<int64_t>& dims) {
  return HostTensor::of<float>(dims,
                               std::span<const float>(m.data(), static_cast<size_t>(m.size())));
}

} // namespace kiln::detail
