#include "trainer/trainer.h"

#include <unistd.h>

#include <charconv>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <functional>
#include <optional>

#include "base/atomic_file.h"
#include "base/error.h"
#include "base/hash.h"
#include "base/side_by_side.h"
#include "io/safetensors.h"
#include "ir/print.h"
#include "train/problem.h"
#include "trainer/checkpoint.h"
#include "trainer/data_checks.h"
#include "trainer/data_parallel.h"
#include "trainer/epoch_table.h"

namespace kiln {

namespace {

using Clock = std::chrono::steady_clock;
double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

uint64_t epoch_seed(uint64_t seed, int epoch) {
  return hash_combine(seed, static_cast<uint64_t>(epoch));
}

MatrixRM scalar_matrix(double v) {
  MatrixRM m(1, 1);
  m(0, 0) = static_cast<float>(v);
  return m;
}

/** Draws "epoch 3/20 [=====>    ] loss 0.0412" on one terminal line. */
void draw_progress(int epoch, int epochs, const EpochStats& s) {
  constexpr int kWidth = 24;
  const int done = epochs > 0 ? kWidth * epoch / epochs : kWidth;
  std::string bar(static_cast<size_t>(done), '=');
  if (done < kWidth)
    bar += '>';
  bar.resize(kWidth, ' ');
  std::fprintf(stderr, "\r  epoch %d/%d [%s] loss %.4g", epoch, epochs, bar.c_str(),
               s.running_loss);
  if (!std::isnan(s.val_loss))
    std::fprintf(stderr, "  val %.4g", s.val_loss);
  if (!std::isnan(s.val_acc))
    std::fprintf(stderr, "  acc %.1f%%", 100 * s.val_acc);
  std::fprintf(stderr, epoch == epochs ? "\n" : "");
  std::fflush(stderr);
}

constexpr const char* kLogHeader =
    "epoch,running_loss,running_acc,train_loss,train_acc,val_loss,val_acc,lr,seconds";

/**
 * The CSV log, ready for the next epoch's line. A fresh run (no epoch done) starts it anew; a
 * resumed one keeps the lines of the epochs done so far and drops any later ones (left by a
 * run that went further than the checkpoint resumed from), so the log is the weights' history.
 */
std::ofstream open_log(const std::string& path, int epochs_done) {
  std::string kept = std::string(kLogHeader) + "\n";
  if (epochs_done > 0) {
    std::ifstream old(path);
    std::string line;
    if (old && std::getline(old, line)) {
      if (line != kLogHeader)
        throw Error(str("[fit] ", path, ": will not append to a file that is not a kiln training ",
                        "log (its first line is '", line.substr(0, 80), "')"));
      while (std::getline(old, line)) {
        int epoch = 0;
        const auto [p, ec] = std::from_chars(line.data(), line.data() + line.size(), epoch);
        if (ec == std::errc() && *p == ',' && epoch >= 0 && epoch <= epochs_done)
          kept += line + "\n";
      }
    }
  }
  write_file_atomically(path, kept, {.prefix = "[fit] ", .sync = false});
  std::ofstream csv(path, std::ios::app);
  if (!csv)
    throw Error(str("[fit] ", path, ": cannot write the CSV log"));
  return csv;
}

} // namespace

struct Trainer::State {
  nn::Layer net;
  Loss loss;
  std::shared_ptr<optim::Optimizer> optimizer;

  bool compiled = false;
  Device device;
  int64_t features = 0, targets = 0;                 // targets: outputs (regression) or classes
  std::vector<std::string> params;                   // network params
  std::vector<std::pair<std::string, double>> state; // optimizer state and "step"
  // step: the fused step, or in a data-parallel run the update alone (it owns params and state).
  std::optional<Executable> step, eval, predict;
  std::optional<DataParallelEpoch> data_parallel; // the gradients and the all-reduce
  int epochs_done = 0;
  double weight_decay = 0;
  std::vector<detail::CheckpointValues> pending; // loaded (and checked) before the first compile
  detail::CheckpointLayout compiled_layout;

  /** The training problem; split into gradients and update for a data-parallel run. */
  train::ProblemGraphs build(int64_t in_features, int64_t target_dims, double wd,
                             bool split) const {
    train::Problem p = train::supervised(net, in_features, target_dims, loss, optimizer, wd);
    p.split_step = split;
    return train::build(p);
  }

  void compile(const train::ProblemGraphs& g, int64_t in_features, int64_t target_dims,
               uint64_t seed, double wd, Device on, int64_t batch, bool tf32,
               const std::shared_ptr<Communicator>& comm) {
    device = on;
    features = in_features;
    targets = target_dims;
    weight_decay = wd;
    params = g.param_names();
    const StepGraph& sg = g.split ? g.split->update : *g.step;
    state = sg.state;
    std::optional<Executable> gradients;
    if (!g.split) {
      compile_kernels(g, sg, on, batch, tf32, nullptr, gradients);
    } else {
      // A rank that fails alone (no GPU, no NCCL) must not leave the others waiting in NCCL.
      std::string error;
      try {
        // One rank per GPU: each rank takes the device of its local rank.
        const Device run_on = on.is_cuda() ? rank_device(*comm, on) : on;
        compile_kernels(g, sg, run_on, batch, tf32, comm.get(), gradients);
      } catch (const std::exception& e) {
        error = e.what();
      }
      throw_if_any_rank_failed(*comm, "fit", error);
      data_parallel.emplace(std::move(*gradients), comm);
      data_parallel->bind(*step);
    }
    step->set_params(init_parameters(g.params, seed, ir::DType::F64));
    for (const auto& [name, init] : state)
      set_all(name, init);
    for (const std::string& p : params) {
      eval->bind_param(p, step->param_data(p));
      predict->bind_param(p, step->param_data(p));
    }
    compiled_layout = planned_layout();
    check_layout_matches_step();
    compiled = true;
    // Checked when they were loaded, against the same layout.
    for (const detail::CheckpointValues& v : std::exchange(pending, {}))
      apply(v);
  }

  /** Compiles step (or the split step's update and `gradients`), eval and predict on `on`. */
  void compile_kernels(const train::ProblemGraphs& g, const StepGraph& sg, Device on, int64_t batch,
                       bool tf32, const Communicator* comm, std::optional<Executable>& gradients) {
    // The kernels, compiled side by side (the JIT is thread-safe), the step first: it takes the
    // longest (the prediction's compile is a third of it).
    std::vector<std::function<void()>> jobs{[&] {
      step.emplace(Executable::compile(sg.graph, {.name = g.split ? "update" : "step",
                                                  .updates = sg.updates,
                                                  .epoch = g.split ? std::nullopt : g.epoch,
                                                  .batch_hint = batch,
                                                  .device = on,
                                                  .tf32 = tf32}));
    }};
    if (g.split) {
      // Every rank runs its share of a batch: ceil(batch / ranks) rows at most.
      const int64_t local = (batch + comm->size() - 1) / comm->size();
      jobs.push_back([&, local] {
        // On the CPU it reports each gradient as it is final (FitOptions::overlap_allreduce).
        gradients.emplace(
            Executable::compile(g.split->gradients, {.name = "gradients",
                                                     .batch_hint = local,
                                                     .device = on,
                                                     .gradient_ready_hook = !on.is_cuda()}));
      });
    }
    // The evaluation of a whole data set is one call (the fused evaluation), data read in place.
    jobs.push_back([&] {
      eval.emplace(
          Executable::compile(g.eval, {.name = "eval", .evaluate = g.epoch, .device = on}));
    });
    jobs.push_back([&] {
      predict.emplace(Executable::compile(g.predict, {.name = "predict", .device = on}));
    });
    run_side_by_side(jobs);
  }

  void set_all(const std::string& name, double v) {
    const MatrixRM cur = step->param(name);
    step->set_param(name, MatrixRM::Constant(cur.rows(), cur.cols(), static_cast<float>(v)));
  }

  std::vector<std::string> all_state_names() const {
    std::vector<std::string> names = params;
    for (const auto& [name, init] : state)
      names.push_back(name);
    return names;
  }

  /** What a checkpoint holds, from the network's params and the optimizer's state specs. */
  detail::CheckpointLayout planned_layout() const {
    if (compiled)
      return compiled_layout;
    detail::CheckpointLayout l;
    for (const Param<>& p : net.parameters())
      l.params.push_back({p.name(), p.dims()});
    l.state.push_back({"step", {}});
    for (const Param<>& p : net.parameters())
      for (const optim::StateSpec& spec : optimizer->state())
        l.state.push_back({p.name() + "." + spec.name, p.dims()});
    return l;
  }

  /** The compiled step has exactly the planned params and state, of the planned dims. */
  void check_layout_matches_step() const {
    size_t n = 0;
    for (const auto* list : {&compiled_layout.params, &compiled_layout.state})
      for (const detail::TensorSlot& t : *list) {
        bool found = false;
        for (const codegen::Slot& sl : step->schedule().slots)
          if (sl.role == codegen::Slot::Role::Param && sl.name == t.name) {
            KILN_ASSERT(sl.type.shape.dims() == t.dims, "param '", t.name, "' is ", sl.type,
                        " in the step, ", HostTensor::shape_text(t.dims), " in the network");
            found = true;
          }
        KILN_ASSERT(found, "the step has no param '", t.name, "'");
        ++n;
      }
    KILN_ASSERT(n == params.size() + state.size(), "the step has params the network has not");
  }

  /** Sets every checked value, or none: a failure part way restores the values before. */
  void apply(const detail::CheckpointValues& v) {
    const std::vector<MatrixRM> before = snapshot();
    try {
      for (const auto& [name, m] : v.tensors)
        step->set_param(name, m);
    } catch (...) {
      restore(before);
      throw;
    }
    if (v.epochs_done)
      epochs_done = *v.epochs_done;
  }

  /** Copies of every param and state buffer (to roll back a diverged epoch). */
  std::vector<MatrixRM> snapshot() const {
    std::vector<MatrixRM> out;
    for (const std::string& n : all_state_names())
      out.push_back(step->param(n));
    return out;
  }
  void restore(const std::vector<MatrixRM>& snap) {
    const std::vector<std::string> names = all_state_names();
    for (size_t i = 0; i < names.size(); ++i)
      step->set_param(names[i], snap[i]);
  }

  /** Copies params, optimizer state and the epoch count from rank 0 to the other ranks. */
  void broadcast_from_rank0(Communicator& comm) {
    for (const std::string& name : all_state_names()) {
      MatrixRM m = step->param(name);
      comm.broadcast(m.data(), static_cast<size_t>(m.size()) * sizeof(float), 0);
      if (comm.rank() != 0)
        step->set_param(name, m);
    }
    int64_t done = epochs_done;
    comm.broadcast(&done, sizeof done, 0);
    epochs_done = static_cast<int>(done);
  }

  /**
   * Before a data-parallel fit: the ranks must agree on the data set, the network and the
   * options, or every rank throws kiln::DataError naming what differs. Runs before any check
   * that one rank could fail alone, so no rank is left waiting in a collective.
   */
  void check_ranks(Communicator& c, const data::Dataset& train, const data::Dataset* val,
                   const FitOptions& o) const {
    const int64_t tgt = train.is_classification() ? train.num_classes : train.y.cols();
    const std::string same_data = "every rank must load the same data set (kiln shards it)";
    check_ranks_agree(c, static_cast<uint64_t>(train.rows()), "fit",
                      "the training set's size (rows)", same_data);
    check_ranks_agree(
        c, hash_combine(static_cast<uint64_t>(train.x.cols()), static_cast<uint64_t>(tgt)), "fit",
        "the training set's features and targets (a hash)", same_data);
    check_ranks_agree(c, static_cast<uint64_t>(val ? val->rows() : 0), "fit",
                      "the validation set's size (rows)", same_data);
    uint64_t h = hash_bytes(train.x.data(), static_cast<size_t>(train.x.size()) * sizeof(float));
    h = train.is_classification()
            ? hash_bytes(train.labels.data(), static_cast<size_t>(train.labels.size()) * 4, h)
            : hash_bytes(train.y.data(), static_cast<size_t>(train.y.size()) * sizeof(float), h);
    check_ranks_agree(c, h, "fit", "the training set's values (a hash)", same_data);
    if (val) { // the ranks evaluate shares of it
      uint64_t hv = hash_bytes(val->x.data(), static_cast<size_t>(val->x.size()) * sizeof(float));
      hv = val->is_classification()
               ? hash_bytes(val->labels.data(), static_cast<size_t>(val->labels.size()) * 4, hv)
               : hash_bytes(val->y.data(), static_cast<size_t>(val->y.size()) * sizeof(float), hv);
      check_ranks_agree(c, hv, "fit", "the validation set's values (a hash)", same_data);
    }
    // The network as its lowered graph (layers, shapes, loss) and the optimizer's settings.
    std::string error;
    uint64_t net_hash = 0;
    try {
      const train::ProblemGraphs g = build(train.x.cols(), tgt, o.weight_decay, false);
      net_hash = hash_string(ir::to_text(g.eval) + optimizer->describe());
    } catch (const std::exception& e) {
      error = e.what();
    }
    throw_if_any_rank_failed(c, "fit", error);
    check_ranks_agree(c, net_hash, "fit", "the network (a hash of its graph, loss and optimizer)",
                      "every rank must build the same network, loss and optimizer");
    uint64_t opts =
        hash_combine(static_cast<uint64_t>(o.epochs), static_cast<uint64_t>(o.batch_size));
    opts = hash_combine(hash_combine(opts, o.seed), o.shuffle ? 1 : 0);
    check_ranks_agree(c, opts, "fit", "the options (a hash of epochs, batch_size, seed, shuffle)",
                      "pass every rank the same FitOptions");
  }

  /**
   * The metrics of the fused evaluation over d. With `comm` (a data-parallel fit) each rank
   * evaluates rows [n r / R, n (r + 1) / R) and one all-reduce in double adds the ranks' sums
   * (loss, accuracy, rows), so every rank gets one process's numbers up to the order of the sums.
   */
  Metrics evaluate(const data::Dataset& d, Communicator* comm = nullptr) {
    const int64_t n = d.rows();
    const int64_t ranks = comm ? comm->size() : 1, rank = comm ? comm->rank() : 0;
    const int64_t lo = n * rank / ranks, hi = n * (rank + 1) / ranks;
    const auto* x = reinterpret_cast<const std::byte*>(d.x.data());
    const auto* targets = loss.classification ? reinterpret_cast<const std::byte*>(d.labels.data())
                                              : reinterpret_cast<const std::byte*>(d.y.data());
    const size_t x_row = static_cast<size_t>(d.x.cols()) * sizeof(float);
    const size_t t_row =
        loss.classification ? sizeof(int32_t) : static_cast<size_t>(d.y.cols()) * sizeof(float);
    if (!comm) { // one process: the fused evaluation's means as they are
      const std::vector<double> out = eval->evaluate(n, {x, targets});
      Metrics m;
      m.loss = out[0];
      if (loss.classification)
        m.accuracy = out[1];
      return m;
    }
    // {loss, accuracy, rows}, as sums over this rank's rows.
    double sums[3] = {0, 0, static_cast<double>(hi - lo)};
    if (hi > lo) {
      const auto at = static_cast<size_t>(lo);
      const std::vector<double> out =
          eval->evaluate(hi - lo, {x + at * x_row, targets + at * t_row});
      sums[0] = out[0] * sums[2];
      if (loss.classification)
        sums[1] = out[1] * sums[2];
    }
    comm->allreduce_sum(sums, 3);
    Metrics m;
    m.loss = sums[0] / sums[2];
    if (loss.classification)
      m.accuracy = sums[1] / sums[2];
    return m;
  }

  /** One epoch as a loop of single steps on the host (the reference for the fused epoch). */
  std::vector<double> host_epoch(const data::Dataset& d, int batch, bool shuffle, uint64_t seed,
                                 double lr) {
    const int64_t n = d.rows();
    std::vector<int64_t> perm(static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i)
      perm[static_cast<size_t>(i)] = i;
    if (shuffle)
      perm = epoch_permutation(n, seed);
    const MatrixRM lr_m = scalar_matrix(lr);
    double loss_sum = 0, acc_sum = 0;
    for (int64_t b0 = 0; b0 < n; b0 += batch) {
      const int64_t nb = std::min<int64_t>(batch, n - b0);
      MatrixRM xb(nb, d.x.cols());
      MatrixRM yb(nb, loss.classification ? 1 : d.y.cols());
      Eigen::VectorXi lb(nb);
      for (int64_t r = 0; r < nb; ++r) {
        const int64_t src = perm[static_cast<size_t>(b0 + r)];
        xb.row(r) = d.x.row(src);
        if (loss.classification)
          lb(r) = d.labels(src);
        else
          yb.row(r) = d.y.row(src);
      }
      Feed feed{{"y", xb}, {"lr", lr_m}};
      if (loss.classification)
        feed.emplace_back("c", lb);
      else
        feed.emplace_back("c", yb);
      const auto out = step->run(feed);
      loss_sum += out.at("loss")(0, 0) * static_cast<double>(nb);
      if (loss.classification)
        acc_sum += out.at("acc")(0, 0) * static_cast<double>(nb);
    }
    return {loss_sum / static_cast<double>(n), acc_sum / static_cast<double>(n)};
  }

  std::map<std::string, HostTensor> tensors() const {
    std::map<std::string, HostTensor> out;
    for (const auto* list : {&compiled_layout.params, &compiled_layout.state})
      for (const detail::TensorSlot& t : *list)
        out.emplace(t.name, detail::to_tensor(step->param(t.name), t.dims));
    return out;
  }

  /** Checks the file at `path` in full, then applies it (or keeps it for the first compile). */
  void load(const std::string& path, bool weights_only) {
    const Safetensors file = load_safetensors(path);
    detail::CheckpointValues v =
        detail::check_checkpoint(file, path, planned_layout(), weights_only);
    if (compiled) {
      apply(v);
      return;
    }
    if (v.epochs_done) // epochs_done() says where a resumed run is before the first fit()
      epochs_done = *v.epochs_done;
    pending.push_back(std::move(v));
  }
};

Trainer::Trainer(nn::Layer net, Loss loss, std::shared_ptr<optim::Optimizer> optimizer)
    : s_(std::make_unique<State>(State{std::move(net), std::move(loss), std::move(optimizer)})) {
  if (!s_->optimizer)
    throw Error("[Trainer] needs an optimizer");
}
Trainer::~Trainer() = default;
Trainer::Trainer(Trainer&&) noexcept = default;

History Trainer::fit(const data::Dataset& train, const data::Dataset* val, const FitOptions& o) {
  State& s = *s_;
  if (o.comm && o.comm->size() > 1)
    s.check_ranks(*o.comm, train, val, o);
  if (o.epochs < 0 || o.batch_size < 1)
    throw Error(str("[fit] epochs must be >= 0 and batch_size >= 1, got ", o.epochs, " and ",
                    o.batch_size));
  if (train.rows() == 0)
    throw DataError("[fit] the training set is empty");
  if (train.is_classification() != s.loss.classification)
    throw DataError(str("[fit] the loss '", s.loss.name, "' needs ",
                        s.loss.classification ? "class labels" : "regression targets",
                        " but the data set has ",
                        train.is_classification() ? "class labels" : "regression targets"));
  const int64_t targets = train.is_classification() ? train.num_classes : train.y.cols();
  const bool distributed = o.comm && o.comm->size() > 1;
  if (s.compiled && distributed != s.data_parallel.has_value())
    throw Error(str("[fit] the first fit() compiled the network for ",
                    s.data_parallel ? "several ranks" : "one process", "; this fit runs on ",
                    distributed ? "several ranks" : "one process", ". Use one Trainer per setup"));
  if (s.compiled && o.device != s.device)
    throw Error(str("[fit] the network was compiled for ", s.device.str(),
                    " by the first fit(); this fit asks for ", o.device.str()));
  if (s.compiled && (train.x.cols() != s.features || targets != s.targets))
    throw ShapeError(str("[fit] the network was built for ", s.features, " features and ",
                         s.targets, " targets; this data set has ", train.x.cols(), " and ",
                         targets));
  // The fused epoch reads the rows through raw pointers: check them before any kernel runs.
  const detail::DataShape want{train.x.cols(), targets, s.loss.classification};
  detail::check_dataset(train, "training set", want, o.allow_non_finite);
  if (val)
    detail::check_dataset(*val, "validation set", want, o.allow_non_finite);
  History h;
  if (!s.compiled) {
    const auto t0 = Clock::now();
    s.compile(s.build(train.x.cols(), targets, o.weight_decay, distributed), train.x.cols(),
              targets, o.seed, o.weight_decay, o.device, o.batch_size, o.tf32, o.comm);
    h.compile_time_s = seconds_since(t0);
  }
  if (distributed)
    s.broadcast_from_rank0(*o.comm);
  // In a data-parallel run rank 0 alone reports and writes files.
  const bool rank0 = !distributed || o.comm->rank() == 0;
  std::ofstream csv;
  if (!o.csv_log.empty() && rank0)
    csv = open_log(o.csv_log, s.epochs_done);
  const bool bar = o.progress && rank0 && isatty(fileno(stderr));
  const void* labels_or_y = train.is_classification()
                                ? static_cast<const void*>(train.labels.data())
                                : static_cast<const void*>(train.y.data());
  Feed epoch_data{{"y", train.x}};
  if (train.is_classification())
    epoch_data.emplace_back("c", train.labels);
  else
    epoch_data.emplace_back("c", train.y);
  auto record = [&](const EpochStats& st, bool log) {
    h.epochs.push_back(st);
    if (csv && log)
      csv << st.epoch << ',' << st.running_loss << ',' << st.running_acc << ',' << st.train_loss
          << ',' << st.train_acc << ',' << st.val_loss << ',' << st.val_acc << ',' << st.lr << ','
          << st.seconds << std::endl;
    if (o.verbose && rank0) {
      std::printf("%s\n", epoch_table_row(st).c_str());
      std::fflush(stdout);
    }
  };
  // The ranks share the evaluation's rows (each holds the whole data set).
  Communicator* share_eval = distributed ? o.comm.get() : nullptr;
  auto evaluate_into = [&](EpochStats& st) {
    const auto t_eval = Clock::now();
    if (o.eval_train) {
      const Metrics m = s.evaluate(train, share_eval);
      st.train_loss = m.loss;
      st.train_acc = m.accuracy;
    }
    if (val) {
      const Metrics m = s.evaluate(*val, share_eval);
      st.val_loss = m.loss;
      st.val_acc = m.accuracy;
    }
    h.eval_time_s += seconds_since(t_eval);
  };
  if (o.verbose && rank0) {
    std::printf("%s\n", epoch_table_header().c_str());
    std::fflush(stdout);
  }
  {
    // The network before this fit trains it (the untrained one on a first fit).
    const auto t0 = Clock::now();
    EpochStats st;
    st.epoch = s.epochs_done;
    st.lr = o.schedule.at(s.optimizer->lr(), s.epochs_done);
    evaluate_into(st);
    st.seconds = seconds_since(t0);
    // A log that goes on already holds this row (the end of the last epoch done).
    record(st, s.epochs_done == 0);
  }
  for (int e = 0; e < o.epochs; ++e) {
    const auto t0 = Clock::now();
    EpochStats st;
    st.epoch = s.epochs_done + 1;
    st.lr = o.schedule.at(s.optimizer->lr(), s.epochs_done);
    const std::vector<MatrixRM> before = s.snapshot();
    const uint64_t seed = epoch_seed(o.seed, s.epochs_done);
    std::vector<double> run;
    if (distributed) {
      const double reduce0 = s.data_parallel->allreduce_seconds();
      const size_t y_bytes = train.is_classification()
                                 ? sizeof(int32_t)
                                 : static_cast<size_t>(train.y.cols()) * sizeof(float);
      const std::vector<double> avg = s.data_parallel->run(
          *s.step,
          {{"y", train.x.data(), static_cast<size_t>(train.x.cols()) * sizeof(float)},
           {"c", labels_or_y, y_bytes}},
          train.rows(), o.batch_size, o.shuffle, seed, st.lr,
          o.overlap_allreduce && !s.device.is_cuda());
      const std::vector<std::string>& names = s.data_parallel->scalars();
      for (const char* m : {"loss", "acc"})
        for (size_t k = 0; k < names.size(); ++k)
          if (names[k] == m)
            run.push_back(avg[k]);
      h.allreduce_time_s += s.data_parallel->allreduce_seconds() - reduce0;
    } else {
      run = o.fused_epoch ? s.step->run_epoch(o.batch_size, o.shuffle, seed, epoch_data,
                                              {{"lr", scalar_matrix(st.lr)}})
                          : s.host_epoch(train, o.batch_size, o.shuffle, seed, st.lr);
    }
    h.train_time_s += seconds_since(t0);
    st.running_loss = run[0];
    if (s.loss.classification)
      st.running_acc = run[1];
    if (!std::isfinite(st.running_loss)) {
      s.restore(before);
      throw TrainingError(
          str("[fit] the training loss became ", st.running_loss, " in epoch ", st.epoch,
              "; training stopped and the weights are back at the end of epoch ", s.epochs_done,
              o.checkpoint.empty() ? "" : ", which is also the checkpoint in " + o.checkpoint,
              ". Try a smaller learning rate (now ", st.lr, ")"));
    }
    ++s.epochs_done;
    evaluate_into(st);
    st.seconds = seconds_since(t0);
    if (!o.checkpoint.empty() && rank0) {
      std::string error;
      try {
        save(o.checkpoint);
      } catch (const std::exception& e) {
        if (!distributed)
          throw;
        error = e.what();
      }
      if (distributed) // the other ranks must not go on waiting for rank 0 in the next step
        throw_if_any_rank_failed(*o.comm, "fit", error);
    } else if (!o.checkpoint.empty() && distributed) {
      throw_if_any_rank_failed(*o.comm, "fit", "");
    }
    record(st, true);
    if (bar)
      draw_progress(e + 1, o.epochs, st);
    bool stop = o.early_stop && o.early_stop(st);
    if (distributed) { // rank 0 decides, so that no rank goes on alone
      uint8_t flag = stop ? 1 : 0;
      o.comm->broadcast(&flag, 1, 0);
      stop = flag != 0;
    }
    if (stop) {
      h.stopped_early = e + 1 < o.epochs;
      if (bar && e + 1 < o.epochs)
        std::fprintf(stderr, "\n");
      break;
    }
  }
  return h;
}

Metrics Trainer::evaluate(const data::Dataset& d) {
  if (!s_->compiled)
    throw Error("[Trainer] evaluate() before fit(): the network is not built yet");
  return s_->evaluate(d);
}

MatrixRM Trainer::predict(const MatrixRM& x) {
  if (!s_->compiled)
    throw Error("[Trainer] predict() before fit(): the network is not built yet");
  return s_->predict->run({{"y", x}}).at("F");
}

void Trainer::save(const std::string& path) const {
  if (!s_->compiled)
    throw Error("[Trainer] save() before fit(): there are no weights yet");
  save_safetensors(path, s_->tensors(),
                   {{"epochs_done", std::to_string(s_->epochs_done)},
                    {"optimizer", s_->optimizer->describe()},
                    {"format", "kiln trainer checkpoint"}});
}

void Trainer::load(const std::string& path) {
  s_->load(path, false);
}

void Trainer::load_weights(const std::string& path) {
  s_->load(path, true);
}

MatrixRM Trainer::param(const std::string& name) const {
  if (!s_->compiled)
    throw Error("[Trainer] param() before fit(): there are no weights yet");
  return s_->step->param(name);
}

std::vector<std::string> Trainer::param_names() const {
  return s_->params;
}
int Trainer::epochs_done() const {
  return s_->epochs_done;
}

} // namespace kiln
