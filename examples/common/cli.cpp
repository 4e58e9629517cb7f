#include "examples/common/cli.h"

#include "trainer/trainer.h"

#include <CLI/CLI.hpp>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <filesystem>

namespace kiln::examples {

namespace {
/** The ranks of a --distributed run, for report_and_exit. */
std::shared_ptr<Communicator> world;

/** Ends the program on an uncaught error with its message, not an abort; in a --distributed run,
    ends every rank (the others would wait for this one in their next all-reduce). */
[[noreturn]] void report_and_exit() {
  try {
    if (std::exception_ptr e = std::current_exception())
      std::rethrow_exception(e);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
  } catch (...) {
    std::fprintf(stderr, "error: unknown exception\n");
  }
  std::fflush(stderr);
  if (world && world->size() > 1)
    world->abort(1);
  std::_Exit(1);
}
} // namespace

void usage_error(const std::string& what) {
  std::fprintf(stderr, "error: %s (see --help)\n", what.c_str());
  std::exit(2);
}

Options parse_options(int argc, char** argv, Options o, const std::string& about,
                      const std::function<void(CLI::App&)>& extra) {
  std::set_terminate(report_and_exit);
  // The physics-informed examples' defaults are not the course's: they are what reaches the
  // README's errors (more L-BFGS iterations, weighted boundary terms).
  CLI::App app(about + (o.full_batch ? "\n\nDefaults reach the errors in kiln's README."
                                     : "\n\nDefaults are the course's."));
  app.get_formatter()->column_width(24);
  app.add_option("--epochs", o.epochs,
                 o.full_batch ? "full-batch Adam iterations" : "epochs to train")
      ->capture_default_str();
  if (!o.full_batch) {
    app.add_option("--batch-size", o.batch_size, "samples per step")->capture_default_str();
    app.add_flag("--distributed", o.distributed,
                 "data-parallel over the ranks of mpirun -np <n> (MPI); rank 0 prints and "
                 "writes files");
  }
  app.add_option("--lr", o.lr, "learning rate")->capture_default_str();
  app.add_option("--seed", o.seed, "seeds the data, the weights and the shuffles")
      ->capture_default_str();
  app.add_option("--device", o.device, "cpu, cuda or cuda:<index>")->capture_default_str();
  app.add_option("--out", o.out, "folder for plots and logs")->capture_default_str();
  app.add_option("--checkpoint", o.checkpoint,
                 o.full_batch ? "save the training state here every 100 iterations and at the end"
                              : "save the training state here after every epoch");
  app.add_flag("--resume", o.resume,
               "start from --checkpoint where it exists; train what is left of --epochs");
  app.add_flag("--verbose", o.verbose, "print the per-epoch table while training");
  if (extra)
    extra(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp&) {
    std::printf("%s", app.help().c_str());
    std::exit(0);
  } catch (const CLI::ParseError& e) {
    usage_error(e.what());
  }
  if (o.epochs < 0 || (!o.full_batch && o.batch_size < 1) || !(o.lr > 0))
    usage_error("epochs must be >= 0, batch size >= 1 and lr > 0");
  if (o.resume && o.checkpoint.empty())
    usage_error("--resume needs --checkpoint FILE");
  device(o); // validates the name
  if (o.distributed) {
    o.comm = world = mpi_world();
    if (o.comm->rank() != 0 && !std::freopen("/dev/null", "w", stdout))
      usage_error("cannot silence stdout on rank " + std::to_string(o.comm->rank()));
  }
  return o;
}

FitOptions fit_options(const Options& o, int epochs, const std::string& checkpoint,
                       const std::string& csv_log) {
  return {.epochs = epochs,
          .batch_size = o.batch_size,
          .seed = o.seed,
          .verbose = o.verbose,
          .csv_log = csv_log,
          .checkpoint = checkpoint,
          .device = device(o),
          .comm = o.comm};
}

bool main_rank(const Options& o) {
  return !o.comm || o.comm->rank() == 0;
}

std::string checkpoint_path(const Options& o, const std::string& tag) {
  if (o.checkpoint.empty() || tag.empty())
    return o.checkpoint;
  const std::filesystem::path p(o.checkpoint);
  return (p.parent_path() / (p.stem().string() + "-" + tag + p.extension().string())).string();
}

int resume(Trainer& trainer, const Options& o, const std::string& path) {
  if (!o.resume || !std::filesystem::exists(path))
    return o.epochs;
  trainer.load(path);
  if (main_rank(o))
    std::fprintf(stderr, "resumed from %s after epoch %d\n", path.c_str(), trainer.epochs_done());
  return std::max(0, o.epochs - trainer.epochs_done());
}

std::string prepare_out(const Options& o) {
  std::error_code ec;
  std::filesystem::create_directories(o.out, ec);
  if (ec)
    usage_error("cannot create the output folder " + o.out + ": " + ec.message());
  return o.out + "/";
}

void print_result(const std::vector<std::pair<std::string, double>>& values) {
  std::printf("result:");
  for (const auto& [k, v] : values)
    std::printf(" %s=%.6g", k.c_str(), v);
  std::printf("\n");
  std::fflush(stdout);
}

Device device(const Options& o) {
  if (o.device == "cpu")
    return Device::cpu();
  if (o.device == "cuda")
    return Device::cuda(0);
  if (o.device.starts_with("cuda:")) {
    char* end = nullptr;
    const long i = std::strtol(o.device.c_str() + 5, &end, 10);
    if (end != o.device.c_str() + 5 && *end == '\0' && i >= 0)
      return Device::cuda(static_cast<int>(i));
  }
  usage_error("unknown device '" + o.device + "' (cpu, cuda or cuda:<index>)");
}

} // namespace kiln::examples
