#include "runtime/executable.h"

#include <algorithm>
#include <chrono>
#include <cstdio>

#include "base/debug.h"
#include "base/error.h"
#include "ir/passes.h"
#include "runtime/program.h"

namespace kiln {

using codegen::Slot;

namespace {

void write_value(void* dst, ir::DType t, int64_t i, double v) {
  switch (t) {
  case ir::DType::F32:
    static_cast<float*>(dst)[i] = static_cast<float>(v);
    break;
  case ir::DType::F64:
    static_cast<double*>(dst)[i] = v;
    break;
  case ir::DType::I32:
    static_cast<int32_t*>(dst)[i] = static_cast<int32_t>(v);
    break;
  case ir::DType::I64:
    static_cast<int64_t*>(dst)[i] = static_cast<int64_t>(v);
    break;
  }
}

double read_value(const void* src, ir::DType t, int64_t i) {
  switch (t) {
  case ir::DType::F32:
    return static_cast<const float*>(src)[i];
  case ir::DType::F64:
    return static_cast<const double*>(src)[i];
  case ir::DType::I32:
    return static_cast<const int32_t*>(src)[i];
  case ir::DType::I64:
    return static_cast<double>(static_cast<const int64_t*>(src)[i]);
  }
  return 0;
}

/** Host bytes of a slot at batch size N. */
size_t slot_bytes(const Slot& s, int64_t N) {
  return static_cast<size_t>(s.type.shape.numel(N)) * ir::dtype_bytes(s.type.dtype);
}

} // namespace

HostView::HostView(const MatrixRM& m)
    : data(m.data()), dtype(ir::DType::F32), dims{m.rows(), m.cols()} {}
HostView::HostView(const MatrixRMd& m)
    : data(m.data()), dtype(ir::DType::F64), dims{m.rows(), m.cols()} {}
HostView::HostView(const Eigen::VectorXi& l)
    : data(l.data()), dtype(ir::DType::I32), dims{l.size()} {}

struct Executable::State {
  std::unique_ptr<runtime::Program> program;
  std::optional<codegen::EpochSpec> epoch, evaluate;
  /** Host memory of every output slot (sized for out_batch), and of nothing else. */
  std::vector<std::vector<std::byte>> outputs;
  /** What the program reads and writes in run(): inputs (the caller's) and outputs. */
  std::vector<void*> host;
  /** For integer inputs: the class count of the ops that index with them (0 if none). */
  std::vector<int64_t> label_depth;
  /** The graph's inputs as given to compile(), before passes removed the unused ones. */
  std::vector<std::string> declared_inputs;
  int64_t out_batch = -1;
  double compile_ms = 0;

  const codegen::Schedule& sched() const { return program->schedule(); }
  const Slot& slot(size_t i) const { return sched().slots[i]; }

  size_t find(std::string_view name, Slot::Role role) const {
    for (size_t i = 0; i < sched().slots.size(); ++i)
      if (slot(i).role == role && slot(i).name == name)
        return i;
    std::string names;
    for (const Slot& s : sched().slots)
      if (s.role == role)
        names += (names.empty() ? "" : ", ") + s.name;
    static constexpr const char* kRole[] = {"input", "param", "output", "scratch"};
    throw Error(str("[Executable] no ", kRole[static_cast<int>(role)], " named '", name,
                    "'; there are: ", names.empty() ? "(none)" : names));
  }

  /** Sizes the host outputs for batch size N. */
  void prepare(int64_t batch) {
    if (batch == out_batch)
      return;
    for (size_t i = 0; i < sched().slots.size(); ++i) {
      if (slot(i).role != Slot::Role::Output)
        continue;
      outputs[i].assign(slot_bytes(slot(i), batch), std::byte{0});
      host[i] = outputs[i].data();
    }
    out_batch = batch;
  }

  /** Forgets the caller's input pointers. */
  void unbind_inputs() {
    for (size_t i = 0; i < sched().slots.size(); ++i)
      if (slot(i).role == Slot::Role::Input)
        host[i] = nullptr;
  }

  /**
   * Points the input slots at the fed data after checking names, dims, dtypes and labels;
   * returns the batch size. Inputs listed in `skip` are not expected in the feed.
   */
  int64_t bind_inputs(const Feed& feed, const std::vector<std::string>& skip = {});

  /** Throws DataError when integer input slot i's `n` values leave [0, label_depth[i]). */
  void check_labels(size_t i, const void* data, int64_t n, const char* api) const {
    if (label_depth[i] <= 0)
      return;
    const auto* l = static_cast<const int32_t*>(data);
    for (int64_t r = 0; r < n; ++r)
      if (l[r] < 0 || l[r] >= label_depth[i])
        throw DataError(str("[Executable] ", api, "labels '", slot(i).name, "' hold ", l[r],
                            " at row ", r, ", outside [0, ", label_depth[i], ")"));
  }

  /** The [rows, cols] of param slot i as a matrix: a vector is a column, as run() returns it. */
  std::pair<int64_t, int64_t> param_matrix_dims(size_t i) const {
    const ir::Shape& shape = slot(i).type.shape;
    const int64_t n = shape.static_numel();
    if (shape.rank() == 0)
      return {1, 1};
    if (shape.rank() == 1)
      return {n, 1};
    return {shape[0], n / shape[0]};
  }

  /** Outputs as matrices of T: [N or 1, rest of the dims]. */
  template <class M>
  std::map<std::string, M> outputs_as(int64_t n) const;

  /** Param slot i's value as doubles, and back. */
  std::vector<std::byte> param_bytes(size_t i) const {
    std::vector<std::byte> bytes(slot_bytes(slot(i), 1));
    program->read_param(i, bytes.data());
    return bytes;
  }
};

Executable::Executable(std::unique_ptr<State> s) : s_(std::move(s)) {}
Executable::Executable(Executable&&) noexcept = default;
Executable& Executable::operator=(Executable&&) noexcept = default;
Executable::~Executable() = default;

Executable Executable::compile(const ir::Graph& graph, const CompileOptions& options) {
  const auto t0 = std::chrono::steady_clock::now();
  auto s = std::make_unique<State>();
  const ir::Graph g = options.optimize ? ir::optimize(graph) : graph;
  switch (options.device.kind) {
  case Device::Kind::Cpu:
    s->program = runtime::compile_cpu(g, options);
    break;
  case Device::Kind::Cuda:
    s->program = runtime::compile_cuda(g, options);
    break;
  }
  s->epoch = options.epoch;
  s->evaluate = options.evaluate;
  for (ir::NodeId id : graph.leaves(ir::Op::Input))
    s->declared_inputs.push_back(graph.node(id).name());

  const auto& slots = s->sched().slots;
  s->outputs.resize(slots.size());
  s->host.assign(slots.size(), nullptr);
  s->label_depth.assign(slots.size(), 0);
  // Integer inputs that ops index with (labels) get the ops' bound, checked at every call.
  for (const ir::Node& n : g.nodes()) {
    const ir::OpDef& def = n.def();
    if (def.index_operand < 0)
      continue;
    std::vector<ir::Type> in;
    for (ir::NodeId x : n.inputs)
      in.push_back(g.node(x).type);
    const ir::NodeId index = n.inputs[static_cast<size_t>(def.index_operand)];
    for (size_t i = 0; i < slots.size(); ++i)
      if (slots[i].role == Slot::Role::Input && slots[i].node == index)
        s->label_depth[i] = def.index_bound(ir::InferCtx{def.name, in, n.attrs});
  }
  s->compile_ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  return Executable(std::move(s));
}

static std::vector<std::string> names_of(const codegen::Schedule& sc, Slot::Role role) {
  std::vector<std::string> out;
  for (const Slot& s : sc.slots)
    if (s.role == role)
      out.push_back(s.name);
  return out;
}

std::vector<std::string> Executable::input_names() const {
  return names_of(s_->sched(), Slot::Role::Input);
}
std::vector<std::string> Executable::param_names() const {
  return names_of(s_->sched(), Slot::Role::Param);
}
std::vector<std::string> Executable::output_names() const {
  return names_of(s_->sched(), Slot::Role::Output);
}

void Executable::set_params(const ir::Bindings& values) {
  for (const auto& [name, t] : values)
    for (const Slot& sl : s_->sched().slots)
      if (sl.role == Slot::Role::Param && sl.name == name)
        set_param(name, t);
}

void Executable::set_param(std::string_view name, const ir::Tensor& values) {
  const size_t i = s_->find(name, Slot::Role::Param);
  const Slot& sl = s_->slot(i);
  // Same dims, not only the same count: a transposed matrix has the count of the original.
  const bool same = values.dims == sl.type.shape.dims() ||
                    (values.numel() == 1 && sl.type.shape.static_numel() == 1);
  if (!same)
    throw ShapeError(str("[Executable] param '", name, "' is ", sl.type, " but ", values.numel(),
                         " values were given (", values.type_str(), ")"));
  std::vector<std::byte> bytes(slot_bytes(sl, 1));
  for (int64_t k = 0; k < values.numel(); ++k)
    write_value(bytes.data(), sl.type.dtype, k, values[k]);
  s_->program->write_param(i, bytes.data());
}

void Executable::set_param(std::string_view name, const MatrixRM& values) {
  const size_t i = s_->find(name, Slot::Role::Param);
  const Slot& sl = s_->slot(i);
  const auto [rows, cols] = s_->param_matrix_dims(i);
  // A vector may come as a column (as param() gives it) or as a row; a matrix only as itself,
  // so a transposed matrix of the same size is refused.
  const bool same = (values.rows() == rows && values.cols() == cols) ||
                    (cols == 1 && values.rows() == 1 && values.cols() == rows);
  if (!same)
    throw ShapeError(str("[Executable] param '", name, "' is ", sl.type, " but a ", values.rows(),
                         "x", values.cols(), " matrix was given (it takes ", rows, "x", cols, ")"));
  std::vector<std::byte> bytes(slot_bytes(sl, 1));
  for (int64_t k = 0; k < values.size(); ++k)
    write_value(bytes.data(), sl.type.dtype, k, values.data()[k]);
  s_->program->write_param(i, bytes.data());
}

MatrixRM Executable::param(std::string_view name) const {
  const size_t i = s_->find(name, Slot::Role::Param);
  const Slot& sl = s_->slot(i);
  const auto [rows, cols] = s_->param_matrix_dims(i);
  const std::vector<std::byte> bytes = s_->param_bytes(i);
  MatrixRM m(rows, cols);
  for (int64_t k = 0; k < m.size(); ++k)
    m.data()[k] = static_cast<float>(read_value(bytes.data(), sl.type.dtype, k));
  return m;
}

void* Executable::param_data(std::string_view name) {
  return s_->program->param_address(s_->find(name, Slot::Role::Param));
}

void Executable::bind_param(std::string_view name, void* data) {
  if (!data)
    throw Error(str("[Executable] bind_param('", name, "'): null pointer"));
  s_->program->bind_param(s_->find(name, Slot::Role::Param), data);
}

std::vector<double> Executable::run_epoch(int64_t n, int64_t batch, bool shuffle, uint64_t seed,
                                          const std::vector<const void*>& data, const Feed& feed) {
  if (!s_->epoch)
    throw Error("[Executable] run_epoch: compiled without CompileOptions::epoch");
  const std::vector<std::string>& names = s_->epoch->data;
  if (data.size() != names.size())
    throw Error(
        str("[Executable] run_epoch: ", names.size(), " data arrays expected, got ", data.size()));
  if (n < 1 || batch < 1)
    throw Error(str("[Executable] run_epoch: n and batch must be >= 1, got ", n, " and ", batch));
  // The kernel indexes with the labels: one out of range would read outside the weights.
  for (size_t k = 0; k < names.size(); ++k)
    s_->check_labels(s_->find(names[k], Slot::Role::Input), data[k], n, "run_epoch: ");
  s_->bind_inputs(feed, names);
  s_->prepare(batch); // output buffers of one step
  const std::vector<double> stats = s_->program->run_epoch(n, batch, shuffle, seed, data, s_->host);
  s_->unbind_inputs();
  std::vector<double> out;
  for (size_t m = 0; m + 1 < stats.size(); ++m)
    out.push_back(stats[m] / stats.back());
  return out;
}

std::vector<double> Executable::evaluate(int64_t n, const std::vector<const void*>& data,
                                         const Feed& feed) {
  if (!s_->evaluate)
    throw Error("[Executable] evaluate: compiled without CompileOptions::evaluate");
  const std::vector<std::string>& names = s_->evaluate->data;
  if (data.size() != names.size())
    throw Error(
        str("[Executable] evaluate: ", names.size(), " data arrays expected, got ", data.size()));
  if (n < 1)
    throw Error(str("[Executable] evaluate: n must be >= 1, got ", n));
  std::vector<size_t> slots;
  for (size_t d = 0; d < names.size(); ++d) {
    const size_t i = s_->find(names[d], Slot::Role::Input);
    slots.push_back(i);
    s_->check_labels(i, data[d], n * s_->slot(i).type.shape.static_numel(), "evaluate: ");
  }
  s_->bind_inputs(feed, names);
  s_->prepare(n); // outputs of every row: whatever the blocks, they fit
  std::optional<std::vector<double>> stats = s_->program->run_evaluate(n, data, s_->host);
  if (!stats) {
    // Block by block through the step, data read in place.
    constexpr int64_t kBlock = 256;
    stats.emplace(s_->evaluate->metrics.size() + 1, 0.0);
    std::vector<size_t> metric_slots;
    for (const std::string& m : s_->evaluate->metrics)
      metric_slots.push_back(s_->find(m, Slot::Role::Output));
    for (int64_t b0 = 0; b0 < n; b0 += kBlock) {
      const int64_t nb = std::min(kBlock, n - b0);
      for (size_t d = 0; d < slots.size(); ++d)
        s_->host[slots[d]] = const_cast<std::byte*>(static_cast<const std::byte*>(data[d])) +
                             slot_bytes(s_->slot(slots[d]), 1) * b0;
      s_->prepare(nb);
      s_->program->run(nb, s_->host);
      for (size_t m = 0; m < metric_slots.size(); ++m)
        (*stats)[m] +=
            read_value(s_->host[metric_slots[m]], s_->slot(metric_slots[m]).type.dtype, 0) *
            static_cast<double>(nb);
    }
    (*stats)[metric_slots.size()] = static_cast<double>(n);
  }
  s_->unbind_inputs();
  std::vector<double> out;
  for (size_t m = 0; m + 1 < stats->size(); ++m)
    out.push_back((*stats)[m] / stats->back());
  return out;
}

std::vector<double> Executable::run_epoch(int64_t batch, bool shuffle, uint64_t seed,
                                          const Feed& data, const Feed& feed) {
  if (!s_->epoch)
    throw Error("[Executable] run_epoch: compiled without CompileOptions::epoch");
  const std::vector<std::string>& names = s_->epoch->data;
  std::vector<const void*> pointers;
  std::optional<int64_t> n;
  std::string n_from;
  for (const std::string& name : names) {
    const HostView* v = nullptr;
    for (const auto& [fed, view] : data)
      if (fed == name)
        v = &view;
    if (v == nullptr)
      throw Error(str("[Executable] run_epoch: no data for the epoch's input '", name, "'"));
    const Slot& sl = s_->slot(s_->find(name, Slot::Role::Input));
    const int64_t rows = v->dims.empty() ? 1 : v->dims[0],
                  cols =
                      v->dims.size() > 1 ? ir::numel_of(v->dims) / std::max<int64_t>(rows, 1) : 1;
    const ir::Shape& shape = sl.type.shape;
    const int64_t want_cols = shape.rank() <= 1 ? 1 : shape.static_numel();
    if (v->dtype != sl.type.dtype || cols != want_cols)
      throw ShapeError(str("[Executable] run_epoch: input '", name, "' expects ", sl.type,
                           ", got a ", to_string(v->dtype), " ", rows, "x", cols, " matrix"));
    if (n && *n != rows)
      throw ShapeError(
          str("[Executable] run_epoch: the epoch's data disagree on the sample count: '", n_from,
              "' has ", *n, " rows, '", name, "' has ", rows));
    n = rows;
    n_from = name;
    pointers.push_back(v->data);
  }
  for (const auto& [fed, view] : data)
    if (std::find(names.begin(), names.end(), fed) == names.end())
      throw Error(str("[Executable] run_epoch: '", fed, "' is not one of the epoch's data inputs"));
  return run_epoch(n.value_or(0), batch, shuffle, seed, pointers, feed);
}

int64_t Executable::State::bind_inputs(const Feed& feed, const std::vector<std::string>& skip) {
  const auto& slots = sched().slots;
  std::optional<int64_t> batch;
  std::string batch_from;
  for (size_t i = 0; i < slots.size(); ++i) {
    if (slots[i].role != Slot::Role::Input)
      continue;
    if (std::find(skip.begin(), skip.end(), slots[i].name) != skip.end())
      continue;
    const HostView* v = nullptr;
    for (const auto& [name, view] : feed)
      if (name == slots[i].name)
        v = &view;
    if (!v)
      throw Error(
          str("[Executable] input '", slots[i].name, "' (", slots[i].type, ") was not fed"));
    const ir::Shape& s = slots[i].type.shape;
    // A vector feeds [N] or [N, 1]; a matrix feeds [N, d] or [N, ...] with the rest flattened.
    const int64_t rows = v->dims.empty() ? 1 : v->dims[0],
                  cols = v->dims.size() > 1 ? v->dims[1] : 1;
    const int64_t want_cols = s.rank() == 0 ? 1 : s.static_numel() / (s.has_batch() ? 1 : s[0]);
    const bool ok = v->dtype == slots[i].type.dtype &&
                    (s.has_batch() ? cols == want_cols : rows * cols == s.static_numel());
    if (!ok)
      throw ShapeError(str("[Executable] input '", slots[i].name, "' expects ", slots[i].type,
                           ", got a ", to_string(v->dtype), " ", rows, "x", cols, " matrix"));
    if (s.has_batch()) {
      if (batch && *batch != rows)
        throw ShapeError(str("[Executable] inputs disagree on the batch size: '", batch_from,
                             "' has ", *batch, " rows, '", slots[i].name, "' has ", rows));
      batch = rows;
      batch_from = slots[i].name;
    }
    check_labels(i, v->data, rows * cols, "");
    host[i] = const_cast<void*>(v->data);
  }
  // A name the graph does not have is a typo, and its data would go unused without a word.
  for (const auto& [name, view] : feed) {
    const bool skipped = std::find(skip.begin(), skip.end(), name) != skip.end();
    const bool known =
        std::find(declared_inputs.begin(), declared_inputs.end(), name) != declared_inputs.end();
    if (skipped || !known) {
      std::string inputs;
      for (const std::string& d : declared_inputs)
        inputs += (inputs.empty() ? "" : ", ") + d;
      throw Error(str("[Executable] '", name, "' was fed, but ",
                      skipped ? "it is the epoch's data, which run_epoch takes apart"
                              : "the graph has no input of that name",
                      "; its inputs are: ", inputs.empty() ? "(none)" : inputs));
    }
  }
  return batch.value_or(1);
}

template <class M>
std::map<std::string, M> Executable::State::outputs_as(int64_t n) const {
  std::map<std::string, M> out;
  for (size_t i = 0; i < sched().slots.size(); ++i) {
    const Slot& sl = slot(i);
    if (sl.role != Slot::Role::Output)
      continue;
    const std::vector<int64_t> dims = sl.type.shape.concrete(n);
    const int64_t rows = dims.empty() ? 1 : dims[0],
                  cols = ir::numel_of(dims) / std::max<int64_t>(rows, 1);
    M m(rows, cols);
    for (int64_t k = 0; k < m.size(); ++k)
      m.data()[k] = static_cast<typename M::Scalar>(read_value(host[i], sl.type.dtype, k));
    out.emplace(sl.name, std::move(m));
  }
  return out;
}

std::map<std::string, MatrixRM> Executable::run(const Feed& feed) {
  for (const Slot& sl : s_->sched().slots)
    if (sl.role == Slot::Role::Output && sl.type.dtype == ir::DType::F64)
      throw Error(str("[Executable] run: output '", sl.name, "' is ", sl.type,
                      ", which float matrices would round; use run_f64()"));
  const int64_t n = s_->bind_inputs(feed);
  s_->prepare(n);
  s_->program->run(n, s_->host);
  s_->unbind_inputs(); // do not keep the caller's pointers
  return s_->outputs_as<MatrixRM>(n);
}

std::map<std::string, MatrixRMd> Executable::run_f64(const Feed& feed) {
  const int64_t n = s_->bind_inputs(feed);
  s_->prepare(n);
  s_->program->run(n, s_->host);
  s_->unbind_inputs();
  return s_->outputs_as<MatrixRMd>(n);
}

std::vector<ir::Tensor> Executable::run_tensors(const ir::Bindings& values) {
  const auto& slots = s_->sched().slots;
  std::vector<std::vector<std::byte>> inputs(slots.size());
  std::optional<int64_t> batch;
  for (size_t i = 0; i < slots.size(); ++i) {
    const Slot& sl = slots[i];
    if (sl.role != Slot::Role::Input && sl.role != Slot::Role::Param)
      continue;
    auto it = values.find(sl.name);
    if (it == values.end()) {
      if (sl.role == Slot::Role::Param)
        continue; // keep the current value
      throw Error(str("[Executable] input '", sl.name, "' (", sl.type, ") was not given"));
    }
    const ir::Tensor& t = it->second;
    for (int d = 0; d < sl.type.shape.rank(); ++d)
      if (sl.type.shape[d] == ir::kBatch)
        batch = t.dims[static_cast<size_t>(d)];
    if (t.numel() != sl.type.shape.numel(batch.value_or(1)))
      throw ShapeError(
          str("[Executable] '", sl.name, "' expects ", sl.type, ", got ", t.type_str()));
    inputs[i].resize(static_cast<size_t>(t.numel()) * ir::dtype_bytes(sl.type.dtype));
    for (int64_t k = 0; k < t.numel(); ++k)
      write_value(inputs[i].data(), sl.type.dtype, k, t[k]);
    if (sl.role == Slot::Role::Param)
      s_->program->write_param(i, inputs[i].data());
    else
      s_->host[i] = inputs[i].data();
  }
  const int64_t n = batch.value_or(1);
  s_->prepare(n);
  s_->program->run(n, s_->host);
  s_->unbind_inputs(); // do not keep pointers to freed inputs
  std::vector<ir::Tensor> out;
  for (size_t i = 0; i < slots.size(); ++i) {
    if (slots[i].role != Slot::Role::Output)
      continue;
    ir::Tensor t(slots[i].type.dtype, slots[i].type.shape.concrete(n));
    for (int64_t k = 0; k < t.numel(); ++k)
      t[k] = read_value(s_->host[i], slots[i].type.dtype, k);
    out.push_back(std::move(t));
  }
  return out;
}

void Executable::call(int64_t batch, void* const* slots) {
  s_->program->call(batch, slots);
}

Device Executable::device() const {
  return s_->program->device();
}
const codegen::Schedule& Executable::schedule() const {
  return s_->sched();
}
const runtime::Program& Executable::program() const {
  return *s_->program;
}
runtime::Program& Executable::program() {
  return *s_->program;
}
double Executable::compile_ms() const {
  return s_->compile_ms;
}
bool Executable::from_cache() const {
  return s_->program->from_cache();
}

} // namespace kiln

namespace kiln::runtime {

void Program::set_gradient_ready(const GradientReadyHook* hook) {
  (void)hook;
  throw Error(str("[Executable] set_gradient_ready: kernels on ", device().str(),
                  " do not report their gradients (CompileOptions::gradient_ready_hook is for the "
                  "CPU)"));
}

} // namespace kiln::runtime
