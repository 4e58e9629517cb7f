// Data-parallel training on MPI, run by ctest as `mpirun -np 2 trainer_mpi_test <case>`: two
// ranks reach the parameters one process reaches with the same global batch, checkpoints move
// between 2 ranks and 1, and ranks that disagree on the data or the network get an error.
// `rank_dies` ends rank 1 in the middle of training (tests/trainer/mpi/expect_abort.sh checks
// that the job stops instead of hanging). Exit 0: passed.

#include <algorithm>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <map>
#include <string>

#include "base/error.h"
#include "base/hash.h"
#include "io/data.h"
#include "tests/trainer/mpi/compare_params.h"
#include "trainer/trainer.h"

using namespace kiln;

namespace {

using test::comm;
using test::expect;
using test::failures;

data::Dataset regression_set(int n) {
  return data::regression_1d([](double x) { return std::sin(x); }, -3, 3, n, 0.1, 1);
}

data::Dataset classification_set(int n) {
  const data::Dataset d = data::moons(n, 0.1, 2);
  return d;
}

Trainer regression_trainer(std::shared_ptr<optim::Optimizer> opt, int hidden = 8) {
  return Trainer(nn::Sequential{nn::Linear(1, hidden), nn::Tanh(), nn::Linear(hidden, 6),
                                nn::Sigmoid(), nn::Linear(6, 1)},
                 Loss::mse(), std::move(opt));
}

Trainer classifier(int hidden = 10, int hidden2 = 0) {
  if (hidden2 > 0)
    return Trainer(nn::Sequential{nn::Linear(2, hidden), nn::Tanh(), nn::Linear(hidden, hidden2),
                                  nn::Sigmoid(), nn::Linear(hidden2, 2)},
                   Loss::cross_entropy(), std::make_shared<optim::Adam>(1e-2));
  return Trainer(nn::Sequential{nn::Linear(2, hidden), nn::Tanh(), nn::Linear(hidden, 2)},
                 Loss::cross_entropy(), std::make_shared<optim::Adam>(1e-2));
}

using test::max_difference;
using test::params_hash;

void check_same_on_every_rank(const Trainer& t, const std::string& what) {
  std::string error;
  try {
    check_ranks_agree(*comm, params_hash(t), "test", what, "");
  } catch (const Error& e) {
    error = e.what();
  }
  expect(error.empty(), what + " bit for bit on every rank " + error);
}

/** A hash of a History's numbers, bit for bit. */
uint64_t history_hash(const History& h) {
  uint64_t bits = 0;
  for (const EpochStats& e : h.epochs)
    for (double x :
         {e.running_loss, e.running_acc, e.train_loss, e.train_acc, e.val_loss, e.val_acc})
      bits = hash_bytes(&x, sizeof x, bits);
  return bits;
}

/** The History's evaluated numbers, bit for bit, are the same on every rank. */
void check_same_history_on_every_rank(const History& h, const std::string& name) {
  std::string error;
  try {
    check_ranks_agree(*comm, history_hash(h), "test", "the History", "");
  } catch (const Error& e) {
    error = e.what();
  }
  expect(error.empty(), name + ": the History is the same on every rank " + error);
}

// The ranks evaluate their shares of the rows and add the sums: before training (epoch 0, the
// same weights) the loss and accuracy differ from one process's only by the order of the float
// sums over blocks of rows (measured: 1e-7 and 2e-8; a row classified differently would move
// the accuracy by 1/101). After training the weights differ within kTolerance, so the loss may
// move by ~1e-6 and a row on the boundary may change class. A rank's rows counted twice or left
// out move the loss by 1e-2.
void expect_same_evaluation(const History& dist, const History& one, const std::string& name) {
  auto rel = [](double a, double b) { return std::abs(a - b) / std::max(1.0, std::abs(b)); };
  // [0]: before training, [1]: after an epoch.
  double loss[2] = {0, 0}, acc[2] = {0, 0};
  for (size_t i = 0; i < one.epochs.size() && i < dist.epochs.size(); ++i) {
    const EpochStats &a = dist.epochs[i], &b = one.epochs[i];
    const size_t k = i == 0 ? 0 : 1;
    loss[k] = std::max({loss[k], rel(a.train_loss, b.train_loss), rel(a.val_loss, b.val_loss)});
    if (!std::isnan(b.val_acc))
      acc[k] =
          std::max({acc[k], std::abs(a.train_acc - b.train_acc), std::abs(a.val_acc - b.val_acc)});
  }
  char msg[256];
  std::snprintf(msg, sizeof msg,
                "%s: evaluated loss vs one process: %.1e before training (< 1e-6), %.1e after "
                "(< 1e-4); accuracy %.1e (< 1e-6) and %.1e (< 0.011)",
                name.c_str(), loss[0], loss[1], acc[0], acc[1]);
  expect(dist.epochs.size() == one.epochs.size() && loss[0] < 1e-6 && loss[1] < 1e-4 &&
             acc[0] < 1e-6 && acc[1] < 0.011,
         msg);
}

// Float sums over a batch's rows taken as two halves and then added differ from one sum over
// all rows by ~1e-7 relative per step (float rounding); after 80 to 200 steps of SGD or Adam on
// these small nets the parameters stay within 1e-5 of one process's (measured: 6e-8 to 3e-7).
// A wrong share of a batch (a row twice, a rank's mean not weighted) moves them by 1e-3 or more.
constexpr double kTolerance = 1e-5;

int same_params() {
  struct Case {
    std::string name;
    bool classify;
    int rows, batch;
    std::function<std::shared_ptr<optim::Optimizer>()> opt;
  };
  const std::vector<Case> cases = {
      // 203 % 10 = 3: the last batch splits 1 + 2.
      {"regression, SGD, batch 10", false, 203, 10,
       [] { return std::make_shared<optim::SGD>(0.1); }},
      // 201 % 4 = 1: rank 0 has no row of the last batch.
      {"regression, Adam, batch 4", false, 201, 4,
       [] { return std::make_shared<optim::Adam>(1e-2); }},
      {"classification, Adam, batch 16", true, 300, 16, nullptr},
  };
  for (const Case& c : cases) {
    const data::Dataset d = c.classify ? classification_set(c.rows) : regression_set(c.rows);
    // 101 rows: the ranks evaluate 50 and 51 of them.
    const data::Dataset v = c.classify ? classification_set(101) : regression_set(101);
    auto make = [&] { return c.classify ? classifier() : regression_trainer(c.opt()); };
    FitOptions o{.epochs = 4, .batch_size = c.batch, .seed = 7, .progress = false};
    Trainer dist = make();
    FitOptions od = o;
    od.comm = comm;
    const History hd = dist.fit(d, &v, od);
    check_same_on_every_rank(dist, c.name + ": params");
    check_same_history_on_every_rank(hd, c.name);
    if (comm->rank() == 0) {
      Trainer one = make();
      const History h1 = one.fit(d, &v, o); // the fused epoch of one process
      expect_same_evaluation(hd, h1, c.name);
      const double diff = max_difference(one, dist);
      char msg[256];
      std::snprintf(msg, sizeof msg, "%s: max |param difference| to one process %.2e (< %.0e)",
                    c.name.c_str(), diff, kTolerance);
      expect(diff < kTolerance, msg);
      const double dl = std::abs(hd.epochs.back().running_loss - h1.epochs.back().running_loss);
      expect(dl < 1e-4 * std::max(1.0, std::abs(h1.epochs.back().running_loss)),
             c.name + ": the same running loss");
      expect(hd.allreduce_time_s > 0, c.name + ": all-reduce time measured");
    }
  }
  return failures;
}

int overlap() {
  // Each gradient's all-reduce started as the kernel finishes it sums the same values as one
  // all-reduce after the kernel: the same parameters and History, bit for bit. The wide net's
  // kernel runs group by group (its gradients are reported one by one, the reduce overlapping
  // the backward pass); the small one's runs as row blocks (every gradient at the end). 201
  // rows in batches of 4: rank 0 has no row of the last batch and starts its sums of zeros.
  struct Case {
    std::string name;
    std::function<Trainer()> make;
    data::Dataset data;
    int batch;
  };
  const std::vector<Case> cases = {
      {"wide classifier 2-80-72-2", [] { return classifier(80, 72); }, classification_set(201), 4},
      {"small regression net",
       [] { return regression_trainer(std::make_shared<optim::Adam>(1e-2)); }, regression_set(201),
       4},
      {"wide classifier, batch 64", [] { return classifier(80, 72); }, classification_set(300), 64},
  };
  for (const Case& c : cases) {
    FitOptions o{.epochs = 2, .batch_size = c.batch, .seed = 5, .progress = false, .comm = comm};
    Trainer plain = c.make(), overlapped = c.make();
    const History hp = plain.fit(c.data, &c.data, o);
    o.overlap_allreduce = true;
    const History ho = overlapped.fit(c.data, &c.data, o);
    check_same_on_every_rank(overlapped, c.name + ": params with overlap");
    expect(params_hash(plain) == params_hash(overlapped),
           c.name + ": params with overlap bit for bit as without");
    expect(history_hash(hp) == history_hash(ho),
           c.name + ": History with overlap bit for bit as without");
    expect(ho.allreduce_time_s > 0, c.name + ": all-reduce time measured with overlap");
  }
  return failures;
}

int checkpoint() {
  const auto dir = std::filesystem::temp_directory_path() / "kiln-mpi-test";
  std::filesystem::create_directories(dir);
  const std::string from_two = (dir / "from_two.safetensors").string();
  const std::string from_one = (dir / "from_one.safetensors").string();
  const data::Dataset d = regression_set(203);
  auto make = [] { return regression_trainer(std::make_shared<optim::Adam>(1e-2)); };
  FitOptions o{.epochs = 2, .batch_size = 10, .seed = 3, .progress = false};
  FitOptions od = o;
  od.comm = comm;
  if (comm->rank() == 0)
    std::filesystem::remove(from_two);
  comm->allgather(0); // a barrier

  // Two ranks train 2 epochs and rank 0 writes the checkpoint; one process goes on for 2 more.
  FitOptions ockpt = od;
  ockpt.checkpoint = from_two;
  make().fit(d, nullptr, ockpt);
  comm->allgather(0);
  expect(std::filesystem::exists(from_two), "rank 0 wrote the checkpoint");
  Trainer four = make();
  FitOptions o4 = o;
  o4.epochs = 4;
  if (comm->rank() == 0) {
    four.fit(d, nullptr, o4);
    Trainer resumed = make();
    resumed.load(from_two);
    resumed.fit(d, nullptr, o);
    expect(resumed.epochs_done() == 4, "one process resumes at epoch 3 of 4");
    char msg[160];
    const double diff = max_difference(resumed, four);
    std::snprintf(msg, sizeof msg, "2 ranks then 1 process: %.2e from 4 epochs on one", diff);
    expect(diff < kTolerance, msg);
    // One process trains 2 epochs for the two ranks to resume from.
    FitOptions o1 = o;
    o1.checkpoint = from_one;
    make().fit(d, nullptr, o1);
  }
  comm->allgather(0);
  Trainer resumed = make();
  resumed.load(from_one);
  resumed.fit(d, nullptr, od);
  check_same_on_every_rank(resumed, "resumed on 2 ranks: params");
  if (comm->rank() == 0) {
    char msg[160];
    const double diff = max_difference(resumed, four);
    std::snprintf(msg, sizeof msg, "1 process then 2 ranks: %.2e from 4 epochs on one", diff);
    expect(diff < kTolerance, msg);
    expect(resumed.epochs_done() == 4, "two ranks resume at epoch 3 of 4");
  }
  return failures;
}

/** Both ranks must get a kiln error containing `want`. */
int expect_error(const std::function<void()>& fit, const std::string& want) {
  std::string error;
  try {
    fit();
  } catch (const Error& e) {
    error = e.what();
  }
  expect(error.find(want) != std::string::npos,
         "error \"" + error + "\" contains \"" + want + "\"");
  return failures;
}

int disagree_data() {
  // Rank 1 loaded one row less.
  const data::Dataset d = regression_set(comm->rank() == 0 ? 100 : 99);
  return expect_error(
      [&] {
        regression_trainer(std::make_shared<optim::SGD>(0.1))
            .fit(d, nullptr, {.epochs = 1, .progress = false, .comm = comm});
      },
      "the ranks disagree on the training set's size (rows): rank 0 has 100, rank 1 has 99");
}

int disagree_network() {
  // Rank 1 built a wider hidden layer.
  const data::Dataset d = regression_set(100);
  return expect_error(
      [&] {
        regression_trainer(std::make_shared<optim::SGD>(0.1), comm->rank() == 0 ? 8 : 9)
            .fit(d, nullptr, {.epochs = 1, .progress = false, .comm = comm});
      },
      "the ranks disagree on the network");
}

int rank_dies() {
  const data::Dataset d = regression_set(2000);
  FitOptions o{.epochs = 1000, .batch_size = 5, .progress = false, .comm = comm};
  o.early_stop = [](const EpochStats& s) {
    if (s.epoch == 2 && comm->rank() == 1) {
      std::fprintf(stderr, "rank 1: dying in epoch 2\n");
      std::raise(SIGKILL); // as a crash or the OOM killer would
    }
    return false;
  };
  regression_trainer(std::make_shared<optim::SGD>(0.01)).fit(d, nullptr, o);
  std::fprintf(stderr, "rank %d: trained 1000 epochs without rank 1\n", comm->rank());
  return 0; // the job must not get here
}

} // namespace

int main(int argc, char** argv) {
  const std::string which = argc > 1 ? argv[1] : "";
  comm = mpi_world();
  if (comm->size() != 2) {
    std::fprintf(stderr, "run as mpirun -np 2 %s <case>\n", argv[0]);
    return 2;
  }
  const std::map<std::string, int (*)()> cases = {{"same_params", same_params},
                                                  {"checkpoint", checkpoint},
                                                  {"overlap", overlap},
                                                  {"disagree_data", disagree_data},
                                                  {"disagree_network", disagree_network},
                                                  {"rank_dies", rank_dies}};
  auto it = cases.find(which);
  if (it == cases.end()) {
    std::fprintf(stderr, "unknown case '%s'\n", which.c_str());
    return 2;
  }
  try {
    return it->second() == 0 ? 0 : 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "rank %d: %s\n", comm->rank(), e.what());
    comm->abort(1);
  }
}
