#include "runtime/executable.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <thread>

#include "base/error.h"
#include "codegen/cpu/renderer.h"
#include "frontend/lower.h"
#include "ir/passes.h"
#include "runtime/cpu/cpu_jit.h"
#include "runtime/cpu/denormals.h"
#if KILN_HAS_CUDA
#include "runtime/cuda/cuda_executable.h"
#else
namespace kiln::runtime {
class CudaProgram {}; // kiln was built without the CUDA backend
} // namespace kiln::runtime
#endif

namespace kiln {

using codegen::Slot;

namespace {

size_t dtype_size(ir::DType t) {
  return t == ir::DType::F64 || t == ir::DType::I64 ? 8 : 4;
}

/** 64-byte aligned, zero-initialized storage. */
struct AlignedBuffer {
  std::unique_ptr<std::byte[], void (*)(std::byte*)> mem{nullptr,
                                                         [](std::byte* p) { std::free(p); }};
  size_t bytes = 0;
  void resize(size_t n) {
    if (n <= bytes && mem)
      return;
    const size_t rounded = (std::max<size_t>(n, 64) + 63) & ~size_t{63};
    mem.reset(static_cast<std::byte*>(std::aligned_alloc(64, rounded)));
    if (!mem)
      throw std::bad_alloc();
    std::memset(mem.get(), 0, rounded);
    bytes = rounded;
  }
  void* data() { return mem.get(); }
};

int debug_level() {
  const char* v = std::getenv("KILN_DEBUG");
  return v ? std::atoi(v) : 0;
}

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

} // namespace

HostView::HostView(const MatrixRM& m)
    : data(m.data()), dtype(ir::DType::F32), dims{m.rows(), m.cols()} {}
HostView::HostView(const MatrixRMd& m)
    : data(m.data()), dtype(ir::DType::F64), dims{m.rows(), m.cols()} {}
HostView::HostView(const Eigen::VectorXi& l)
    : data(l.data()), dtype(ir::DType::I32), dims{l.size()} {}

struct Executable::State {
  Device device;
  /** On the CPU the kernel; on a CUDA device only its schedule (the CUDA module is in `cuda`). */
  codegen::CpuKernel kernel;
  std::unique_ptr<runtime::CudaProgram> cuda;
  std::optional<codegen::EpochSpec> epoch_spec;
  std::shared_ptr<runtime::CpuModule> module;
  void (*fn)(long long, void* const*, void*) = nullptr;
  void (*epoch)(long long, long long, int, unsigned long long, void* const*, void* const*, void*,
                double*) = nullptr;
  AlignedBuffer epoch_workspace;
  size_t epoch_metrics = 0;
  std::vector<AlignedBuffer> owned; // params and outputs, by slot (inputs stay empty)
  AlignedBuffer workspace;
  std::vector<void*> slots;
  /** For integer inputs: the class count of the ops that index with them (0 if none). */
  std::vector<int64_t> label_depth;
  int64_t out_batch = -1;
  double compile_ms = 0;

  const Slot& slot(size_t i) const { return kernel.schedule.slots[i]; }

  size_t find(std::string_view name, Slot::Role role) const {
    for (size_t i = 0; i < kernel.schedule.slots.size(); ++i)
      if (slot(i).role == role && slot(i).name == name)
        return i;
    std::string names;
    for (const Slot& s : kernel.schedule.slots)
      if (s.role == role)
        names += (names.empty() ? "" : ", ") + s.name;
    static constexpr const char* kRole[] = {"input", "param", "output", "scratch"};
    throw Error(str("[Executable] no ", kRole[static_cast<int>(role)], " named '", name,
                    "'; there are: ", names.empty() ? "(none)" : names));
  }

  /** Sizes outputs and workspace for batch size N. */
  void prepare(int64_t batch) {
    if (batch == out_batch)
      return;
    for (size_t i = 0; i < kernel.schedule.slots.size(); ++i) {
      if (slot(i).role != Slot::Role::Output)
        continue;
      owned[i].resize(static_cast<size_t>(slot(i).type.shape.numel(batch)) *
                      dtype_size(slot(i).type.dtype));
      slots[i] = owned[i].data();
    }
    workspace.resize(static_cast<size_t>(kernel.workspace_bytes(batch)));
    out_batch = batch;
  }

  /**
   * Points the input slots at the fed data after checking names, dims, dtypes and labels;
   * returns the batch size. Inputs listed in `skip` are not expected in the feed.
   */
  int64_t bind_inputs(const Feed& feed, const std::vector<std::string>& skip = {});

  void invoke(int64_t batch) {
#if KILN_HAS_CUDA
    if (cuda)
      return cuda->run(batch, slots);
#endif
    const runtime::DenormalsAreZero ftz; // denormals slow training kernels down ~5x
    fn(static_cast<long long>(batch), slots.data(), workspace.data());
  }

  /** CUDA: copies param slot i's host value to the device. */
  void param_written(size_t i) {
#if KILN_HAS_CUDA
    if (cuda)
      cuda->write_param(i, slots[i]);
#else
    (void)i;
#endif
  }
  /** CUDA: refreshes param slot i's host value from the device. */
  void param_wanted(size_t i) {
#if KILN_HAS_CUDA
    if (cuda)
      cuda->read_param(i, slots[i]);
#else
    (void)i;
#endif
  }

  runtime::CudaProgram& program(const char* what) const {
    if (!cuda)
      throw Error(
          str("[Executable] ", what, ": compiled for ", device.str(), ", not a CUDA device"));
    return *cuda;
  }
};

Executable::Executable(std::unique_ptr<State> s) : s_(std::move(s)) {}
Executable::Executable(Executable&&) noexcept = default;
Executable& Executable::operator=(Executable&&) noexcept = default;
Executable::~Executable() = default;

Executable Executable::compile(const ir::Graph& graph, const CompileOptions& options) {
  const auto t0 = std::chrono::steady_clock::now();
  auto s = std::make_unique<State>();
  s->device = options.device;
  const ir::Graph g = options.optimize ? ir::optimize(graph) : graph;
  if (options.device.is_cuda()) {
#if KILN_HAS_CUDA
    codegen::CudaKernel ck = codegen::render_cuda(g, {.updates = options.updates,
                                                      .epoch = options.epoch,
                                                      .fast_math = options.fast_math,
                                                      .tf32 = options.tf32,
                                                      .plans = options.cuda_plans});
    s->kernel.schedule = ck.schedule;
    if (debug_level() >= 1) {
      std::string plans;
      for (const codegen::CudaPlan& p : ck.plans)
        plans += "  " + p.summary + "\n";
      std::fprintf(stderr, "[kiln] %s on %s: %zu nodes, schedule:\n%splans:\n%s",
                   options.name.c_str(), options.device.str().c_str(), g.size(),
                   ck.schedule.describe().c_str(), plans.c_str());
    }
    s->cuda = std::make_unique<runtime::CudaProgram>(
        std::move(ck), runtime::CudaProgramOptions{.device = options.device.index,
                                                   .fast_math = options.fast_math,
                                                   .tf32 = options.tf32,
                                                   .use_cache = !options.no_cache,
                                                   .cache = options.cache,
                                                   .name = options.name});
    s->epoch_spec = options.epoch;
#else
    throw DeviceError(
        "[cuda] no GPU: kiln was built without the CUDA backend (KILN_ENABLE_CUDA=OFF) (needed by "
        "Executable::compile)");
#endif
  } else {
    // A large step compiles as several translation units, side by side on the machine's cores.
    int units = options.cpu_units;
    if (const char* env = std::getenv("KILN_CPU_UNITS"); units <= 0 && env && std::atoi(env) > 0)
      units = std::atoi(env);
    if (units <= 0)
      units = static_cast<int>(std::clamp(std::thread::hardware_concurrency(), 1u, 4u));
    s->kernel = codegen::render_cpu(g, {.updates = options.updates,
                                        .epoch = options.epoch,
                                        .batch_hint = options.batch_hint,
                                        .max_units = units});
    if (debug_level() >= 1)
      std::fprintf(stderr, "[kiln] %s: %zu nodes, schedule:\n%s", options.name.c_str(), g.size(),
                   s->kernel.schedule.describe().c_str());
    runtime::KernelCache* cache = options.no_cache ? nullptr
                                  : options.cache  ? options.cache
                                                   : &runtime::KernelCache::default_cache();
    std::vector<std::string> sources{s->kernel.source};
    sources.insert(sources.end(), s->kernel.parts.begin(), s->kernel.parts.end());
    s->module = runtime::CpuJit::instance().compile(sources, {.name = s->kernel.name}, cache);
    s->fn = s->module->function<void(long long, void* const*, void*)>(s->kernel.name);
  }
  if (options.epoch && !s->cuda) {
    s->epoch = s->module->function<void(long long, long long, int, unsigned long long, void* const*,
                                        void* const*, void*, double*)>(s->kernel.epoch_name);
    s->epoch_metrics = options.epoch->metrics.size();
  }

  const auto& slots = s->kernel.schedule.slots;
  s->owned.resize(slots.size());
  s->slots.assign(slots.size(), nullptr);
  s->label_depth.assign(slots.size(), 0);
  for (size_t i = 0; i < slots.size(); ++i) {
    if (slots[i].role == Slot::Role::Param) {
      s->owned[i].resize(static_cast<size_t>(slots[i].type.shape.static_numel()) *
                         dtype_size(slots[i].type.dtype));
      s->slots[i] = s->owned[i].data();
    }
    if (slots[i].role == Slot::Role::Input && !is_float(slots[i].type.dtype)) {
      for (const ir::Node& n : g.nodes()) {
        if (n.op == ir::Op::OneHot && n.inputs[0] == slots[i].node)
          s->label_depth[i] = n.attrs.i("depth");
        if (n.op == ir::Op::Gather && n.inputs[1] == slots[i].node)
          s->label_depth[i] = g.node(n.inputs[0]).type.shape.dims().back();
      }
    }
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
  return names_of(s_->kernel.schedule, Slot::Role::Input);
}
std::vector<std::string> Executable::param_names() const {
  return names_of(s_->kernel.schedule, Slot::Role::Param);
}
std::vector<std::string> Executable::output_names() const {
  return names_of(s_->kernel.schedule, Slot::Role::Output);
}

void Executable::init_params(const std::vector<ParamSpec>& specs, uint64_t seed) {
  const ir::Bindings values = init_parameters(specs, seed, ir::DType::F64);
  for (const auto& [name, t] : values)
    for (const Slot& sl : s_->kernel.schedule.slots)
      if (sl.role == Slot::Role::Param && sl.name == name)
        set_param(name, t);
}

void Executable::set_param(std::string_view name, const ir::Tensor& values) {
  const size_t i = s_->find(name, Slot::Role::Param);
  const Slot& sl = s_->slot(i);
  if (values.numel() != sl.type.shape.static_numel())
    throw ShapeError(str("[Executable] param '", name, "' is ", sl.type, " but ", values.numel(),
                         " values were given (", values.type_str(), ")"));
  for (int64_t k = 0; k < values.numel(); ++k)
    write_value(s_->slots[i], sl.type.dtype, k, values[k]);
  s_->param_written(i);
}

void Executable::set_param(std::string_view name, const MatrixRM& values) {
  const size_t i = s_->find(name, Slot::Role::Param);
  const Slot& sl = s_->slot(i);
  if (values.size() != sl.type.shape.static_numel())
    throw ShapeError(str("[Executable] param '", name, "' is ", sl.type, " but a ", values.rows(),
                         "x", values.cols(), " matrix was given"));
  for (int64_t k = 0; k < values.size(); ++k)
    write_value(s_->slots[i], sl.type.dtype, k, values.data()[k]);
  s_->param_written(i);
}

MatrixRM Executable::param(std::string_view name) const {
  const size_t i = s_->find(name, Slot::Role::Param);
  const Slot& sl = s_->slot(i);
  const auto& d = sl.type.shape.dims();
  const int64_t rows = d.size() >= 2 ? d[0] : 1, cols = sl.type.shape.static_numel() / rows;
  s_->param_wanted(i);
  MatrixRM m(rows, cols);
  for (int64_t k = 0; k < m.size(); ++k)
    m.data()[k] = static_cast<float>(read_value(s_->slots[i], sl.type.dtype, k));
  return m;
}

void* Executable::param_data(std::string_view name) {
  const size_t i = s_->find(name, Slot::Role::Param);
#if KILN_HAS_CUDA
  if (s_->cuda)
    return s_->cuda->param_address(i);
#endif
  return s_->slots[i];
}

void Executable::bind_param(std::string_view name, void* data) {
  if (!data)
    throw Error(str("[Executable] bind_param('", name, "'): null pointer"));
  const size_t i = s_->find(name, Slot::Role::Param);
#if KILN_HAS_CUDA
  if (s_->cuda)
    return s_->cuda->bind_param(i, data);
#endif
  s_->slots[i] = data;
}

std::vector<double> Executable::run_epoch(int64_t n, int64_t batch, bool shuffle, uint64_t seed,
                                          const std::vector<const void*>& data, const Feed& feed) {
  if (!s_->epoch && !s_->epoch_spec)
    throw Error("[Executable] run_epoch: compiled without CompileOptions::epoch");
  const std::vector<std::string>& names =
      s_->epoch_spec ? s_->epoch_spec->data : s_->kernel.epoch_data;
  if (data.size() != names.size())
    throw Error(
        str("[Executable] run_epoch: ", names.size(), " data arrays expected, got ", data.size()));
  if (n < 1 || batch < 1)
    throw Error(str("[Executable] run_epoch: n and batch must be >= 1, got ", n, " and ", batch));
  s_->bind_inputs(feed, names);
  s_->prepare(batch); // output buffers of one step
#if KILN_HAS_CUDA
  if (s_->cuda) {
    std::vector<size_t> metrics;
    for (const std::string& m : s_->epoch_spec->metrics)
      metrics.push_back(s_->find(m, Slot::Role::Output));
    const std::vector<double> stats =
        s_->cuda->run_epoch(n, batch, shuffle, seed, data, names, metrics, s_->slots);
    std::vector<double> out;
    for (size_t m = 0; m < metrics.size(); ++m)
      out.push_back(stats[m] / stats.back());
    return out;
  }
#endif
  s_->epoch_workspace.resize(static_cast<size_t>(s_->kernel.epoch_workspace_bytes(n, batch)));
  const size_t metrics = s_->epoch_metrics;
  std::vector<double> stats(metrics + 1, 0.0);
  {
    const runtime::DenormalsAreZero ftz;
    s_->epoch(static_cast<long long>(n), static_cast<long long>(batch), shuffle ? 1 : 0, seed,
              const_cast<void* const*>(data.data()), s_->slots.data(), s_->epoch_workspace.data(),
              stats.data());
  }
  std::vector<double> out;
  for (size_t m = 0; m < metrics; ++m)
    out.push_back(stats[m] / stats[metrics]);
  return out;
}

int64_t Executable::State::bind_inputs(const Feed& feed, const std::vector<std::string>& skip) {
  const auto& slots = kernel.schedule.slots;
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
    if (label_depth[i] > 0) {
      const auto* l = static_cast<const int32_t*>(v->data);
      for (int64_t r = 0; r < rows * cols; ++r)
        if (l[r] < 0 || l[r] >= label_depth[i])
          throw DataError(str("[Executable] labels '", slots[i].name, "' hold ", l[r], " at row ",
                              r, ", outside [0, ", label_depth[i], ")"));
    }
    this->slots[i] = const_cast<void*>(v->data);
  }
  return batch.value_or(1);
}

std::map<std::string, MatrixRM> Executable::run(const Feed& feed) {
  const auto& slots = s_->kernel.schedule.slots;
  const int64_t n = s_->bind_inputs(feed);
  s_->prepare(n);
  s_->invoke(n);
  std::map<std::string, MatrixRM> out;
  for (size_t i = 0; i < slots.size(); ++i) {
    if (slots[i].role != Slot::Role::Output)
      continue;
    const std::vector<int64_t> dims = slots[i].type.shape.concrete(n);
    const int64_t rows = dims.empty() ? 1 : dims[0],
                  cols = ir::numel_of(dims) / std::max<int64_t>(rows, 1);
    MatrixRM m(rows, cols);
    for (int64_t k = 0; k < m.size(); ++k)
      m.data()[k] = static_cast<float>(read_value(s_->slots[i], slots[i].type.dtype, k));
    out.emplace(slots[i].name, std::move(m));
  }
  for (size_t i = 0; i < slots.size(); ++i)
    if (slots[i].role == Slot::Role::Input)
      s_->slots[i] = nullptr; // do not keep the caller's pointers
  return out;
}

std::vector<ir::Tensor> Executable::run_tensors(const ir::Bindings& values) {
  const auto& slots = s_->kernel.schedule.slots;
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
    void* dst = s_->slots[i];
    if (sl.role == Slot::Role::Input) {
      inputs[i].resize(static_cast<size_t>(t.numel()) * dtype_size(sl.type.dtype));
      dst = s_->slots[i] = inputs[i].data();
    }
    for (int64_t k = 0; k < t.numel(); ++k)
      write_value(dst, sl.type.dtype, k, t[k]);
    if (sl.role == Slot::Role::Param)
      s_->param_written(i);
  }
  const int64_t n = batch.value_or(1);
  s_->prepare(n);
  s_->invoke(n);
  std::vector<ir::Tensor> out;
  for (size_t i = 0; i < slots.size(); ++i) {
    if (slots[i].role != Slot::Role::Output)
      continue;
    ir::Tensor t(slots[i].type.dtype, slots[i].type.shape.concrete(n));
    for (int64_t k = 0; k < t.numel(); ++k)
      t[k] = read_value(s_->slots[i], slots[i].type.dtype, k);
    out.push_back(std::move(t));
  }
  for (size_t i = 0; i < slots.size(); ++i)
    if (slots[i].role == Slot::Role::Input)
      s_->slots[i] = nullptr; // do not keep pointers to freed inputs
  return out;
}

void Executable::call(int64_t batch, void* const* slots) {
#if KILN_HAS_CUDA
  if (s_->cuda)
    return s_->cuda->call(batch, slots);
#endif
  s_->prepare(batch); // sizes the workspace; the caller's slots replace ours for this call
  const runtime::DenormalsAreZero ftz;
  s_->fn(static_cast<long long>(batch), slots, s_->workspace.data());
}

Device Executable::device() const {
  return s_->device;
}
const codegen::CpuKernel& Executable::kernel() const {
  return s_->kernel;
}
double Executable::compile_ms() const {
  return s_->compile_ms;
}

const codegen::CudaKernel& Executable::cuda_kernel() const {
#if KILN_HAS_CUDA
  return s_->program("cuda_kernel()").kernel();
#else
  s_->program("cuda_kernel()");
  throw InternalError("unreachable");
#endif
}

const codegen::CudaPlan& Executable::cuda_plan(int64_t batch) const {
#if KILN_HAS_CUDA
  return s_->program("cuda_plan()").plan_for(batch);
#else
  (void)batch;
  s_->program("cuda_plan()");
  throw InternalError("unreachable");
#endif
}

bool Executable::from_cache() const {
#if KILN_HAS_CUDA
  if (s_->cuda)
    return s_->cuda->from_cache();
#endif
  return s_->module->from_cache();
}

} // namespace kiln
