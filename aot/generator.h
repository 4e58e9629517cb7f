#pragma once
// The main() of a generator program: the small C++ program, built against kiln, that
// kiln_add_kernels (cmake/KilnAddKernels.cmake) builds and runs at build time to emit a model's
// standalone files, as Halide's generators do.
//
//   int main(int argc, char** argv) {
//     return kiln::aot::generator_main(argc, argv, [](const kiln::aot::GeneratorArgs& args) {
//       kiln::aot::AotSpec spec;
//       spec.net = kiln::nn::Sequential{kiln::nn::Linear(2, 8), kiln::nn::Tanh(),
//       kiln::nn::Linear(8, 1)}; spec.in_features = 2; spec.out_features = 1; spec.checkpoint =
//       args.value("--checkpoint"); return spec;
//     });
//   }

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "aot/aot.h"

namespace kiln::aot {

/** The command line `<program> --name <name> --out-dir <folder> [--cuda] [args...]`. */
struct GeneratorArgs {
  /** The model's name (AotSpec::name). */
  std::string name;
  /** Where the files go (AotSpec::out_dir). */
  std::string out_dir;
  /** --cuda: also write <name>.cu (AotSpec::cuda). */
  bool cuda = false;
  /** Every other argument, in order (kiln_add_kernels' ARGS). */
  std::vector<std::string> args;

  /** True when `flag` is one of args (as "--flag" or "--flag=value"). */
  bool has(std::string_view flag) const;
  /**
   * The value of `flag` in args, given as "--flag value" or "--flag=value"; `fallback` when
   * absent. Throws kiln::Error when the flag is last and has no value.
   */
  std::string value(std::string_view flag, std::string fallback = "") const;
};

/**
 * Parses the command line. --name and --out-dir (each "--x value" or "--x=value") are
 * required, --cuda is optional; everything else goes to GeneratorArgs::args. Throws kiln::Error
 * naming the missing or empty option and showing the usage.
 */
GeneratorArgs parse_generator_args(int argc, const char* const* argv);

/**
 * Parses the command line, asks `make_spec` for the model, sets its name, out_dir and cuda from
 * the command line (whatever make_spec set: the build decides which files it expects) and emits
 * the files. Returns 0; on any exception,
 * prints "<program>: <what>" to stderr and returns 1, so that the build stops with the reason.
 */
int generator_main(int argc, const char* const* argv,
                   const std::function<AotSpec(const GeneratorArgs&)>& make_spec);

} // namespace kiln::aot
