// Data-parallel training without MPI: ranks as threads of this process around a fake
// Communicator (sums in rank order), so the Trainer's split step, sharding, broadcast and checks
// are tested on every build. tests/trainer/mpi/ runs the same on real MPI processes.

#include <catch2/catch.hpp>

#include <condition_variable>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <limits>
#include <mutex>
#include <thread>

#include "io/data.h"
#include "trainer/data_parallel.h"
#include "trainer/trainer.h"

using namespace kiln;
using Catch::Matchers::Contains;

namespace {

/** What the ranks of one fake job share: each collective is an exchange of byte strings. */
struct Exchange {
  int size;
  std::mutex mu;
  std::condition_variable cv;
  int arrived = 0;
  uint64_t generation = 0;
  std::vector<std::vector<std::byte>> slots;

  explicit Exchange(int n) : size(n), slots(static_cast<size_t>(n)) {}

  void barrier(std::unique_lock<std::mutex>& lk) {
    const uint64_t gen = generation;
    if (++arrived == size) {
      arrived = 0;
      ++generation;
      cv.notify_all();
    } else {
      cv.wait(lk, [&] { return generation != gen; });
    }
  }
  /** Every rank's bytes, in rank order. */
  std::vector<std::vector<std::byte>> all(int rank, const void* data, size_t bytes) {
    std::unique_lock lk(mu);
    const auto* p = static_cast<const std::byte*>(data);
    slots[static_cast<size_t>(rank)].assign(p, p + bytes);
    barrier(lk);
    std::vector<std::vector<std::byte>> out = slots;
    barrier(lk); // nobody overwrites a slot before every rank has read it
    return out;
  }
};

class FakeComm final : public Communicator {
public:
  FakeComm(std::shared_ptr<Exchange> ex, int rank) : ex_(std::move(ex)), rank_(rank) {}
  int rank() const override { return rank_; }
  int size() const override { return ex_->size; }
  std::string name() const override { return "fake"; }
  void allreduce_sum(float* data, size_t n) override { sum(data, n); }
  void allreduce_sum(double* data, size_t n) override { sum(data, n); }
  void broadcast(void* data, size_t bytes, int root) override {
    const auto all = ex_->all(rank_, data, bytes);
    std::memcpy(data, all[static_cast<size_t>(root)].data(), bytes);
  }
  std::vector<uint64_t> allgather(uint64_t value) override {
    std::vector<uint64_t> out;
    for (const auto& b : ex_->all(rank_, &value, sizeof value)) {
      uint64_t v = 0;
      std::memcpy(&v, b.data(), sizeof v);
      out.push_back(v);
    }
    return out;
  }
  [[noreturn]] void abort(int code) override { std::abort(); }

private:
  template <class T>
  void sum(T* data, size_t n) {
    const auto all = ex_->all(rank_, data, n * sizeof(T));
    for (size_t i = 0; i < n; ++i) {
      T s = 0;
      for (const auto& b : all)
        s += reinterpret_cast<const T*>(b.data())[i];
      data[i] = s;
    }
  }
  std::shared_ptr<Exchange> ex_;
  int rank_;
};

/** Runs body(rank, comm) on `ranks` threads; rethrows the first rank's exception, if any. */
void run_ranks(int ranks, const std::function<void(int, std::shared_ptr<Communicator>)>& body) {
  auto ex = std::make_shared<Exchange>(ranks);
  std::vector<std::exception_ptr> errors(static_cast<size_t>(ranks));
  std::vector<std::thread> threads;
  for (int r = 0; r < ranks; ++r)
    threads.emplace_back([&, r] {
      try {
        body(r, std::make_shared<FakeComm>(ex, r));
      } catch (...) {
        errors[static_cast<size_t>(r)] = std::current_exception();
      }
    });
  for (std::thread& t : threads)
    t.join();
  for (const auto& e : errors)
    if (e)
      std::rethrow_exception(e);
}

Trainer make_classifier(int hidden = 10) {
  return Trainer(nn::Sequential{nn::Linear(2, hidden), nn::Tanh(), nn::Linear(hidden, 2)},
                 Loss::cross_entropy(), std::make_shared<optim::Adam>(1e-2));
}

/** A data-parallel fit of fresh classifiers on `ranks` fake ranks: the trained ranks and their
    histories. */
struct RankFit {
  std::vector<Trainer> trainers;
  std::vector<History> histories;
};
RankFit fit_ranks(int ranks, const data::Dataset& d, const data::Dataset* v, const FitOptions& o) {
  RankFit f;
  for (int r = 0; r < ranks; ++r)
    f.trainers.push_back(make_classifier());
  f.histories.resize(static_cast<size_t>(ranks));
  run_ranks(ranks, [&](int r, std::shared_ptr<Communicator> c) {
    FitOptions od = o;
    od.comm = c;
    f.histories[static_cast<size_t>(r)] = f.trainers[static_cast<size_t>(r)].fit(d, v, od);
  });
  return f;
}

double max_difference(const Trainer& a, const Trainer& b) {
  double worst = 0;
  for (const std::string& p : a.param_names())
    worst = std::max(worst, static_cast<double>((a.param(p) - b.param(p)).cwiseAbs().maxCoeff()));
  return worst;
}

} // namespace

TEST_CASE("the fake communicator sums in rank order and broadcasts from the root") {
  run_ranks(3, [](int r, std::shared_ptr<Communicator> c) {
    std::vector<float> v{1.0f * static_cast<float>(r), 2.0f};
    c->allreduce_sum(v.data(), v.size());
    CHECK(v == std::vector<float>{3.0f, 6.0f});
    int x = r == 1 ? 42 : 0;
    c->broadcast(&x, sizeof x, 1);
    CHECK(x == 42);
    CHECK(c->allgather(static_cast<uint64_t>(r)) == std::vector<uint64_t>{0, 1, 2});
  });
}

TEST_CASE("ranks that fail alone make every rank throw the failing rank's error") {
  std::vector<std::string> got(2);
  run_ranks(2, [&](int r, std::shared_ptr<Communicator> c) {
    try {
      throw_if_any_rank_failed(*c, "fit", r == 1 ? "disk full" : "");
    } catch (const Error& e) {
      got[static_cast<size_t>(r)] = e.what();
    }
  });
  CHECK(got[0] == "[fit] rank 1: disk full");
  CHECK(got[1] == "[fit] rank 1: disk full");
}

TEST_CASE("three ranks train to the parameters of one process with the global batch") {
  // 301 rows in batches of 16: every batch splits 5 + 5 + 6, the last (13 rows) 4 + 4 + 5.
  const data::Dataset d = data::moons(301, 0.1, 2);
  const FitOptions o{.epochs = 3, .batch_size = 16, .seed = 4, .progress = false};
  Trainer one = make_classifier();
  const History h1 = one.fit(d, nullptr, o);
  const RankFit f = fit_ranks(3, d, nullptr, o);
  const std::vector<Trainer>& ranks = f.trainers;
  const std::vector<History>& hs = f.histories;
  // Row sums taken per rank and then added round differently from one sum over the batch (~1e-7
  // relative per step); over 57 Adam steps the weights stay within 1e-5.
  CHECK(max_difference(one, ranks[0]) < 1e-5);
  // Every rank applied the same update to the same sums: identical bits.
  CHECK(max_difference(ranks[0], ranks[1]) == 0);
  CHECK(max_difference(ranks[0], ranks[2]) == 0);
  CHECK(hs[0].epochs.back().running_loss == Approx(h1.epochs.back().running_loss).epsilon(1e-4));
  CHECK(hs[0].epochs.back().running_acc == Approx(h1.epochs.back().running_acc).epsilon(1e-4));
  CHECK(hs[0].epochs.back().train_loss == Approx(h1.epochs.back().train_loss).epsilon(1e-4));
}

TEST_CASE("the ranks evaluate shares of the rows and all get one process's numbers") {
  // 101 validation rows over 3 ranks: 33, 34 and 34; 301 training rows: 100, 100, 101.
  const data::Dataset d = data::moons(301, 0.1, 2), v = data::moons(101, 0.1, 5);
  const FitOptions o{.epochs = 2, .batch_size = 16, .seed = 4, .progress = false};
  Trainer one = make_classifier();
  const History h1 = one.fit(d, &v, o);
  const std::vector<History> hs = fit_ranks(3, d, &v, o).histories;
  for (size_t e = 0; e < h1.epochs.size(); ++e) {
    const EpochStats &a = hs[0].epochs[e], &b = h1.epochs[e];
    // Before training the weights are the same: only the order of the float sums over blocks of
    // rows differs (~1e-7 relative; one row classified differently would move the accuracy by
    // 1/101); after it the weights differ by float rounding (< 1e-5), and a row on the boundary
    // may change class.
    const double tol = e == 0 ? 1e-6 : 1e-4;
    CHECK(a.val_loss == Approx(b.val_loss).epsilon(tol));
    CHECK(a.train_loss == Approx(b.train_loss).epsilon(tol));
    CHECK(a.val_acc == Approx(b.val_acc).margin(e == 0 ? 1e-6 : 0.011));
    CHECK(a.train_acc == Approx(b.train_acc).margin(e == 0 ? 1e-6 : 0.004));
    for (size_t r = 1; r < 3; ++r) { // every rank the same bits
      CHECK(hs[r].epochs[e].val_loss == a.val_loss);
      CHECK(hs[r].epochs[e].val_acc == a.val_acc);
      CHECK(hs[r].epochs[e].train_loss == a.train_loss);
    }
  }
}

TEST_CASE("overlapping the all-reduce with the gradient kernel sums the same bits") {
  // A net wide enough for the group-by-group kernel, whose gradients are reported one by one;
  // 101 rows in batches of 8 over 3 ranks: the last batch (5 rows) splits 1 + 2 + 2.
  const data::Dataset d = data::moons(101, 0.1, 2);
  auto make = [] {
    return Trainer(nn::Sequential{nn::Linear(2, 80), nn::Tanh(), nn::Linear(80, 72), nn::Sigmoid(),
                                  nn::Linear(72, 2)},
                   Loss::cross_entropy(), std::make_shared<optim::Adam>(1e-2));
  };
  std::vector<Trainer> plain, overlapped;
  for (int r = 0; r < 3; ++r) {
    plain.push_back(make());
    overlapped.push_back(make());
  }
  run_ranks(3, [&](int r, std::shared_ptr<Communicator> c) {
    FitOptions o{.epochs = 2, .batch_size = 8, .seed = 4, .progress = false, .comm = c};
    plain[static_cast<size_t>(r)].fit(d, nullptr, o);
    o.overlap_allreduce = true;
    overlapped[static_cast<size_t>(r)].fit(d, nullptr, o);
  });
  for (size_t r = 0; r < 3; ++r)
    CHECK(max_difference(plain[r], overlapped[r]) == 0);
}

TEST_CASE("a data-parallel fit takes rank 0's weights and checkpoints on rank 0 only") {
  const data::Dataset d = data::moons(100, 0.1, 2);
  const auto dir = std::filesystem::temp_directory_path() / "kiln-data-parallel-test";
  std::filesystem::create_directories(dir);
  // Weights rank 1 loads and rank 0 does not: rank 0's fresh weights must win.
  const std::string other = (dir / "other.safetensors").string();
  make_classifier().fit(d, nullptr,
                        {.epochs = 1, .seed = 9, .progress = false, .checkpoint = other});
  std::vector<Trainer> ranks;
  for (int r = 0; r < 2; ++r)
    ranks.push_back(make_classifier());
  ranks[1].load(other);
  Trainer one = make_classifier();
  one.fit(d, nullptr, {.epochs = 1, .progress = false});
  run_ranks(2, [&](int r, std::shared_ptr<Communicator> c) {
    const std::string ckpt = (dir / ("rank" + std::to_string(r) + ".safetensors")).string();
    std::filesystem::remove(ckpt);
    ranks[static_cast<size_t>(r)].fit(
        d, nullptr, {.epochs = 1, .progress = false, .checkpoint = ckpt, .comm = c});
  });
  CHECK(max_difference(ranks[0], ranks[1]) == 0);
  CHECK(max_difference(ranks[0], one) < 1e-5);
  CHECK(ranks[1].epochs_done() == 1);
  CHECK(std::filesystem::exists(dir / "rank0.safetensors"));
  CHECK_FALSE(std::filesystem::exists(dir / "rank1.safetensors"));
}

TEST_CASE("ranks that disagree on the data, the network or the options get a clear error") {
  const data::Dataset d = data::moons(100, 0.1, 2), fewer = data::moons(99, 0.1, 2);
  const data::Dataset noisier = data::moons(100, 0.2, 2);
  struct Case {
    const char* want;
    std::function<void(int, std::shared_ptr<Communicator>)> fit;
  };
  const std::vector<Case> cases = {
      {"[fit] the ranks disagree on the training set's size (rows): rank 0 has 100, rank 1 has 99",
       [&](int r, auto c) {
         make_classifier().fit(r ? fewer : d, nullptr, {.epochs = 1, .comm = c});
       }},
      {"[fit] the ranks disagree on the training set's values (a hash)",
       [&](int r, auto c) {
         make_classifier().fit(r ? noisier : d, nullptr, {.epochs = 1, .comm = c});
       }},
      {"[fit] the ranks disagree on the network (a hash of its graph, loss and optimizer)",
       [&](int r, auto c) {
         make_classifier(r ? 11 : 10).fit(d, nullptr, {.epochs = 1, .comm = c});
       }},
      {"[fit] the ranks disagree on the options",
       [&](int r, auto c) {
         make_classifier().fit(d, nullptr,
                               {.epochs = 1, .seed = static_cast<uint64_t>(r), .comm = c});
       }},
  };
  for (const Case& k : cases) {
    std::vector<std::string> got(2);
    run_ranks(2, [&](int r, std::shared_ptr<Communicator> c) {
      try {
        k.fit(r, c);
      } catch (const DataError& e) {
        got[static_cast<size_t>(r)] = e.what();
      }
    });
    CHECK_THAT(got[0], Contains(k.want));
    CHECK_THAT(got[1], Contains(k.want));
  }
}

TEST_CASE("rank 0's early_stop decides for every rank") {
  const data::Dataset d = data::moons(100, 0.1, 2);
  std::vector<History> hs(2);
  run_ranks(2, [&](int r, std::shared_ptr<Communicator> c) {
    FitOptions o{.epochs = 5, .progress = false, .comm = c};
    // Rank 1 alone would stop after epoch 1; rank 0 after epoch 3.
    o.early_stop = [r](const EpochStats& s) { return s.epoch == (r == 0 ? 3 : 1); };
    hs[static_cast<size_t>(r)] = make_classifier().fit(d, nullptr, o);
  });
  // Epoch 0 (the untrained network) and epochs 1 to 3.
  CHECK(hs[0].epochs.size() == 4);
  CHECK(hs[1].epochs.size() == 4);
  CHECK(hs[1].stopped_early);
}

TEST_CASE("a data-parallel fit checks the data on every rank and logs from epoch 0 on rank 0") {
  data::Dataset bad = data::moons(100, 0.1, 2);
  bad.x(7, 1) = std::numeric_limits<float>::quiet_NaN();
  std::vector<std::string> got(2);
  run_ranks(2, [&](int r, std::shared_ptr<Communicator> c) {
    try {
      make_classifier().fit(bad, nullptr, {.epochs = 1, .progress = false, .comm = c});
    } catch (const DataError& e) {
      got[static_cast<size_t>(r)] = e.what();
    }
  });
  CHECK_THAT(got[0], Contains("[fit] training set"));
  CHECK(got[1] == got[0]);

  const data::Dataset d = data::moons(100, 0.1, 2);
  const auto dir = std::filesystem::temp_directory_path() / "kiln-data-parallel-log-test";
  std::filesystem::create_directories(dir);
  const std::string ckpt = (dir / "run.safetensors").string();
  std::filesystem::remove(ckpt);
  std::vector<History> hs(2);
  run_ranks(2, [&](int r, std::shared_ptr<Communicator> c) {
    const std::string log = (dir / ("rank" + std::to_string(r) + ".csv")).string();
    std::filesystem::remove(log);
    hs[static_cast<size_t>(r)] = make_classifier().fit(
        d, &d, {.epochs = 2, .progress = false, .csv_log = log, .checkpoint = ckpt, .comm = c});
  });
  for (const History& h : hs) {
    REQUIRE(h.epochs.size() == 3);
    CHECK(h.epochs[0].epoch == 0);
    CHECK(h.epochs[0].val_loss == hs[0].epochs[0].val_loss);
  }
  std::ifstream log(dir / "rank0.csv");
  std::vector<std::string> epochs;
  for (std::string line; std::getline(log, line);)
    epochs.push_back(line.substr(0, line.find(',')));
  CHECK(epochs == std::vector<std::string>{"epoch", "0", "1", "2"});
  CHECK_FALSE(std::filesystem::exists(dir / "rank1.csv"));
  // Two ranks' checkpoint goes on in one process: epoch 3, the log appended.
  Trainer one = make_classifier();
  one.load(ckpt);
  CHECK(one.epochs_done() == 2);
  const History h = one.fit(d, &d,
                            {.epochs = 1,
                             .progress = false,
                             .csv_log = (dir / "rank0.csv").string(),
                             .checkpoint = ckpt});
  CHECK(h.epochs.back().epoch == 3);
  CHECK(h.epochs.front().val_loss == Approx(hs[0].epochs.back().val_loss).epsilon(1e-5));
  std::ifstream again(dir / "rank0.csv");
  epochs.clear();
  for (std::string line; std::getline(again, line);)
    epochs.push_back(line.substr(0, line.find(',')));
  CHECK(epochs == std::vector<std::string>{"epoch", "0", "1", "2", "3"});
}
