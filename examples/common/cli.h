#pragma once
// What every example shares: command-line options (CLI11) with the course's values as defaults,
// and the one summary line a script can read ("result: key=value ...").

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "runtime/comm.h"
#include "runtime/options.h"

namespace CLI {
class App;
} // namespace CLI

namespace kiln {
class Trainer;
struct FitOptions;
} // namespace kiln

namespace kiln::examples {

struct Options {
  int epochs = 20;
  int batch_size = 5;
  double lr = 1e-3;
  uint64_t seed = 42;
  /** "cpu", or "cuda" where a GPU is available. */
  std::string device = "cpu";
  /** Folder for the plots and logs (created if missing). */
  std::string out = "out";
  /** Print the per-epoch table (trainer/epoch_table.h) while training. */
  bool verbose = false;
  /** Trains on whole point sets (the physics-informed examples): no --batch-size. */
  bool full_batch = false;
  /** --checkpoint: the trainer saves itself here after every epoch ("" for none). */
  std::string checkpoint;
  /** --resume: start from --checkpoint where it exists, and train what is left of --epochs. */
  bool resume = false;
  /**
   * --distributed: trains data-parallel over the ranks of `mpirun -np <n>` (MPI_COMM_WORLD),
   * FitOptions::comm = comm. Only rank 0 prints (the other ranks' stdout goes to /dev/null) and
   * writes plots and logs (main_rank()); an error on any rank ends every rank.
   */
  bool distributed = false;
  std::shared_ptr<Communicator> comm;
};

/**
 * Parses --epochs, --batch-size and --distributed (unless full_batch), --lr, --seed, --device,
 * --out, --verbose, --checkpoint and --resume, and whatever
 * `extra` adds to the CLI::App (an example's own options; include <CLI/CLI.hpp> to add them).
 * --help prints `about` and every option with its default, and exits. A bad option ends the
 * program with "error: <what> (see --help)" and status 2; from then on an error kiln throws
 * ends it with "error: <message>" and status 1.
 */
Options parse_options(int argc, char** argv, Options defaults, const std::string& about,
                      const std::function<void(CLI::App&)>& extra = {});

/** Ends the program as parse_options does for a bad option: "error: <what> (see --help)". */
[[noreturn]] void usage_error(const std::string& what);

/**
 * Where one of a run's trainers keeps its checkpoint: --checkpoint, with "-<tag>" before the
 * extension when `tag` is not empty (a run that trains several networks); "" without
 * --checkpoint.
 */
std::string checkpoint_path(const Options& o, const std::string& tag = "");

/**
 * With --resume and a checkpoint at `path`, loads it into `trainer` (saying so on stderr) and
 * returns how many of --epochs are left to train; otherwise returns --epochs. A checkpoint that
 * does not exist yet starts the run from scratch, so that a killed run is resumed by running
 * the same command with --resume.
 */
int resume(Trainer& trainer, const Options& o, const std::string& path);

/**
 * The Trainer's options as every example passes them: `epochs` (what resume() left), the
 * command line's --batch-size, --seed, --verbose, --device and --distributed, with the
 * checkpoint at `checkpoint` and the per-epoch CSV log at `csv_log` ("" for none).
 */
FitOptions fit_options(const Options& o, int epochs, const std::string& checkpoint,
                       const std::string& csv_log = "");

/** Creates the output folder; returns it with a trailing '/'. */
std::string prepare_out(const Options& o);

/** False on the ranks other than 0 of a --distributed run: they train but write no files. */
bool main_rank(const Options& o);

/** Prints "result: k1=v1 k2=v2 ..." on stdout. */
void print_result(const std::vector<std::pair<std::string, double>>& values);

/** The device named by --device ("cpu" or "cuda", "cuda:1"). Training on a machine without a
    GPU then stops with kiln's "[cuda] no GPU: ..." message. */
Device device(const Options& o);

} // namespace kiln::examples
