// Data-parallel training on CUDA devices with NCCL, run by ctest as `mpirun -np 2
// trainer_nccl_test <case>`. Without GPUs the ranks run on the fake CUDA driver (kernels
// emulated on the CPU, tests/runtime/cuda/cuda_emulator.h) and the fake libnccl
// (fake_libnccl.cpp, which sums over the ranks with MPI), so kiln's NCCL path - the id broadcast,
// ncclCommInitRank, the scaled all-reduce between the two kernels - runs end to end:
//   same_params  two ranks reach one process's parameters with the same global batch
//   errors       no libnccl, and a failing NCCL call, give errors that say so on every rank
//   gpu          the same on real GPUs and the real libnccl (skipped with fewer than 2 GPUs)
// Exit 0: passed (or skipped: "KILN_TEST_SKIPPED").

#include <dlfcn.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <map>
#include <string>

#include "base/error.h"
#include "io/data.h"
#include "runtime/cuda/cuda_driver.h"
#include "tests/runtime/cuda/cuda_emulator.h"
#include "tests/trainer/mpi/compare_params.h"
#include "trainer/trainer.h"

using namespace kiln;

namespace {

using test::comm;
using test::expect;
using test::failures;

const std::filesystem::path& dump_dir() {
  static const std::filesystem::path d = std::filesystem::temp_directory_path() /
                                         ("kiln-nccl-emulation-" + std::to_string(::getpid()));
  return d;
}

/** Before the first CudaDriver::get(): the fake driver, with kiln's kernels emulated. */
void use_fakes() {
  setenv("KILN_CUDA_DRIVER", KILN_FAKE_CUDA_PATH, 1);
  setenv("KILN_NCCL_LIBRARY", KILN_FAKE_NCCL_PATH, 1);
  unsetenv("KILN_NO_GPU");
  std::filesystem::create_directories(dump_dir());
  setenv("KILN_DUMP_DIR", dump_dir().c_str(), 1);
  if (!runtime::CudaDriver::get().available())
    throw Error("the fake driver did not load: " + runtime::CudaDriver::get().unavailable_reason());
  void* lib = dlopen(KILN_FAKE_CUDA_PATH, RTLD_NOW | RTLD_NOLOAD);
  if (!lib)
    throw Error("the fake driver is not loaded");
  test::emulate_dumped_sources(lib, dump_dir().string());
}

/** A counter of the fake libnccl: all_reduces, stream_checks or stream_errors. */
int fake_nccl(const std::string& counter) {
  void* lib = dlopen(KILN_FAKE_NCCL_PATH, RTLD_NOW | RTLD_NOLOAD);
  if (!lib)
    return 0; // kiln opens it at the first data-parallel fit
  auto fn = reinterpret_cast<int (*)()>(dlsym(lib, ("kiln_fake_nccl_" + counter).c_str()));
  return fn ? fn() : -1;
}

data::Dataset regression_set(int n) {
  return data::regression_1d([](double x) { return std::sin(x); }, -3, 3, n, 0.1, 1);
}

Trainer regression_trainer(std::shared_ptr<optim::Optimizer> opt) {
  return Trainer(nn::Sequential{nn::Linear(1, 8), nn::Tanh(), nn::Linear(8, 1)}, Loss::mse(),
                 std::move(opt));
}

using test::max_difference;
using test::params_hash;

// As on the CPU (trainer_mpi_test.cpp): two halves of a batch summed apart, then added, differ
// from one sum by float rounding, ~1e-7 per step; a row counted twice or a share not weighted
// moves the parameters by 1e-3 or more.
constexpr double kTolerance = 1e-5;

int same_params(bool fake) {
  struct Case {
    std::string name;
    int rows, batch;
    std::function<std::shared_ptr<optim::Optimizer>()> opt;
  };
  const std::vector<Case> cases = {
      // 53 % 10 = 3: the last batch splits 1 + 2.
      {"SGD, batch 10", 53, 10, [] { return std::make_shared<optim::SGD>(0.1); }},
      // 41 % 4 = 1: rank 0 has no row of the last batch (its share of the sum is 0).
      {"Adam, batch 4", 41, 4, [] { return std::make_shared<optim::Adam>(1e-2); }},
  };
  for (const Case& c : cases) {
    const data::Dataset d = regression_set(c.rows);
    FitOptions o{
        .epochs = 2, .batch_size = c.batch, .seed = 5, .progress = false, .device = Device::cuda()};
    Trainer dist = regression_trainer(c.opt());
    FitOptions od = o;
    od.comm = comm;
    // Rank 0 alone writes the checkpoint, from the device, as on the CPU.
    const std::string checkpoint =
        (std::filesystem::temp_directory_path() / "kiln-nccl-test.safetensors").string();
    od.checkpoint = checkpoint;
    const int reduces = fake_nccl("all_reduces"), checks = fake_nccl("stream_checks");
    const History hd = dist.fit(d, nullptr, od);
    std::string error;
    try {
      check_ranks_agree(*comm, params_hash(dist), "test", "the params", "");
    } catch (const Error& e) {
      error = e.what();
    }
    expect(error.empty(), c.name + ": params bit for bit the same on every rank " + error);
    if (fake) {
      const int steps = 2 * ((c.rows + c.batch - 1) / c.batch);
      expect(fake_nccl("all_reduces") - reduces == steps,
             c.name + ": one ncclAllReduce per step (" + std::to_string(steps) + ")");
      // Each sum is checked twice: the gradient kernel before it and the update after it.
      expect(fake_nccl("stream_checks") - checks == 2 * steps && fake_nccl("stream_errors") == 0,
             c.name + ": the gradient kernel, the sum and the update kernel on one stream");
    }
    if (comm->rank() == 0) {
      Trainer one = regression_trainer(c.opt());
      const History h1 = one.fit(d, nullptr, o); // one process, the fused epoch on the device
      const double diff = max_difference(one, dist);
      char msg[256];
      std::snprintf(msg, sizeof msg, "%s: max |param difference| to one process %.2e (< %.0e)",
                    c.name.c_str(), diff, kTolerance);
      expect(diff < kTolerance, msg);
      const double l1 = h1.epochs.back().running_loss, ld = hd.epochs.back().running_loss;
      expect(std::abs(ld - l1) < 1e-4 * std::max(1.0, std::abs(l1)),
             c.name + ": the same running loss");
      expect(hd.epochs.front().train_loss > hd.epochs.back().train_loss, c.name + ": it learns");
      Trainer resumed = regression_trainer(c.opt());
      resumed.load(checkpoint);
      resumed.fit(d, nullptr, {.epochs = 0, .progress = false, .device = Device::cuda()});
      expect(max_difference(resumed, dist) == 0 && resumed.epochs_done() == 2,
             c.name + ": rank 0's checkpoint holds the trained params");
      std::filesystem::remove(checkpoint);
    }
  }
  return failures;
}

/** Runs `fit` expecting a kiln::Error whose message contains `want` on this rank. */
void expect_error(const std::function<void()>& fit, const std::string& want,
                  const std::string& what) {
  std::string got = "no error";
  try {
    fit();
  } catch (const Error& e) {
    got = e.what();
  }
  expect(got.find(want) != std::string::npos, what + ": '" + got + "' contains '" + want + "'");
}

int errors() {
  const data::Dataset d = regression_set(20);
  FitOptions o{.epochs = 1, .batch_size = 4, .progress = false, .device = Device::cuda()};
  o.comm = comm;
  auto fit = [&] { regression_trainer(std::make_shared<optim::SGD>(0.1)).fit(d, nullptr, o); };
  const std::string r = std::to_string(comm->rank());

  FitOptions on_1 = o;
  on_1.device = Device::cuda(1);
  expect_error([&] { regression_trainer(std::make_shared<optim::SGD>(0.1)).fit(d, nullptr, on_1); },
               "[fit] rank 0: [cuda] device 1 does not exist: 1 CUDA device(s) found",
               "a device that does not exist, on every rank");
  // NCCL loads once per process, so the library that fails to load comes last.
  setenv("KILN_FAKE_NCCL_FAIL", "ncclCommInitRank", 1);
  expect_error(fit,
               "[nccl] ncclCommInitRank(rank " + r +
                   " of 2, device 0) failed: fake NCCL: failure injected by KILN_FAKE_NCCL_FAIL "
                   "(3)",
               "a failing ncclCommInitRank");
  setenv("KILN_FAKE_NCCL_FAIL", "ncclAllReduce", 1);
  expect_error(
      fit, "[nccl] ncclAllReduce failed: fake NCCL: failure injected by KILN_FAKE_NCCL_FAIL (3)",
      "a failing ncclAllReduce");
  unsetenv("KILN_FAKE_NCCL_FAIL");
  return failures;
}

int missing_library() {
  setenv("KILN_NCCL_LIBRARY", "/nonexistent/libnccl.so.2", 1);
  const data::Dataset d = regression_set(20);
  FitOptions o{.epochs = 1, .batch_size = 4, .progress = false, .device = Device::cuda()};
  o.comm = comm;
  auto fit = [&] { regression_trainer(std::make_shared<optim::SGD>(0.1)).fit(d, nullptr, o); };
  expect_error(fit, "[nccl] rank 0: cannot open /nonexistent/libnccl.so.2 (", "no libnccl");
  expect_error(fit, "install NCCL 2.11 or newer", "no libnccl says what to install");
  return failures;
}

} // namespace

int main(int argc, char** argv) {
  const std::string which = argc > 1 ? argv[1] : "";
  try {
    if (which != "gpu")
      use_fakes();
    comm = mpi_world();
    if (comm->size() != 2) {
      std::fprintf(stderr, "run as mpirun -np 2 %s <case>\n", argv[0]);
      return 2;
    }
    if (which == "gpu") {
      const auto& driver = runtime::CudaDriver::get();
      if (driver.device_count() < 2) {
        if (comm->rank() == 0)
          std::printf("KILN_TEST_SKIPPED: needs 2 GPUs; %s\n",
                      driver.available() ? "this machine has 1"
                                         : driver.unavailable_reason().c_str());
        return 0;
      }
    }
    const std::map<std::string, std::function<int()>> cases = {
        {"same_params", [] { return same_params(true); }},
        {"errors", errors},
        {"missing_library", missing_library},
        {"gpu", [] { return same_params(false); }}};
    auto it = cases.find(which);
    if (it == cases.end()) {
      std::fprintf(stderr, "unknown case '%s'\n", which.c_str());
      return 2;
    }
    const int result = it->second() == 0 ? 0 : 1;
    std::error_code ec;
    std::filesystem::remove_all(dump_dir(), ec);
    return result;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "rank %d: %s\n", comm ? comm->rank() : -1, e.what());
    if (comm)
      comm->abort(1);
    return 1;
  }
}
