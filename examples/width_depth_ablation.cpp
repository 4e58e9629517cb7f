// The course's ablation study of DNN architectures, in C++: fully connected tanh networks
// F: R -> R of every width in {2, 4, 8, 16, 32} and depth in {1, 2, 4, 8, 16, 32}, each trained
// for 10 epochs on the 1D regression data (sin on [-3, 3], noise sigma 0.2, 2000 training and
// 100 validation points) with MSE, Adam (lr 1e-3), batch 5 and the same seed for every cell.
// As in the notebook, "depth" counts the width x width layers after the first one:
//   Linear(1, w), tanh, depth x [Linear(w, w), tanh], Linear(w, 1)
// so a network of depth d has d + 1 hidden layers. Writes heat maps of the final training and
// validation loss (log colour, width up the side, depth along the bottom) and a CSV of the grid.
//
// Every cell is a different network, so every cell compiles its own kernels: the first run pays
// for those compiles, re-runs find them in the kernel cache. --widths and --depths pick a
// smaller grid (e.g. --widths 2,4 --depths 1,2).

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <limits>
#include <string>
#include <string_view>
#include <vector>

#include <CLI/CLI.hpp>

#include "base/error.h"
#include "examples/common/cli.h"
#include "examples/common/history.h"
#include "frontend/kiln.h"
#include "io/data.h"
#include "plot/plot.h"
#include "trainer/trainer.h"

namespace {

// "2,4,8" -> {2, 4, 8}; a usage error, as parse_options() reports one, on anything else.
std::vector<int> parse_list(std::string_view flag, const std::string& text, int lowest) {
  std::vector<int> values;
  size_t start = 0;
  while (start <= text.size()) {
    const size_t comma = std::min(text.find(',', start), text.size());
    const std::string item = text.substr(start, comma - start);
    char* end = nullptr;
    const long v = std::strtol(item.c_str(), &end, 10);
    if (item.empty() || *end != '\0' || v < lowest || v > 4096)
      kiln::examples::usage_error(kiln::str(
          flag, " expects a comma-separated list of integers >= ", lowest, ", got '", text, "'"));
    values.push_back(static_cast<int>(v));
    start = comma + 1;
  }
  return values;
}

kiln::nn::Sequential fully_connected(int width, int depth) {
  using namespace kiln::nn;
  Sequential net{Linear(1, width), Tanh()};
  for (int d = 0; d < depth; ++d) {
    net.push_back(Linear(width, width));
    net.push_back(Tanh());
  }
  net.push_back(Linear(width, 1));
  return net;
}

} // namespace

int main(int argc, char** argv) {
  using namespace kiln;
  using Clock = std::chrono::steady_clock;
  const auto start = Clock::now();

  // The grid's own options; the rest are the shared ones.
  std::string widths_text = "2,4,8,16,32", depths_text = "1,2,4,8,16,32";
  const examples::Options o = examples::parse_options(
      argc, argv, {.epochs = 10, .batch_size = 5, .lr = 1e-3},
      "width_depth_ablation: final losses of tanh networks of every width and depth (dnn101)",
      [&](CLI::App& app) {
        app.add_option("--widths", widths_text, "widths of the grid")->capture_default_str();
        app.add_option("--depths", depths_text,
                       "depths of the grid (width x width layers after the first)")
            ->capture_default_str();
      });
  const std::vector<int> widths = parse_list("--widths", widths_text, 1);
  const std::vector<int> depths = parse_list("--depths", depths_text, 0);
  const std::string out = examples::prepare_out(o);

  auto f = [](double x) { return std::sin(x); };
  const data::Dataset all = data::regression_1d(f, -3, 3, 2200, 0.2, o.seed);
  // dnn101's split_data(n_train=2000, n_val=100); the ablation does not use the test points.
  const data::Split parts = data::split(all, 2000.0 / 2200, 100.0 / 2200, o.seed);

  const int nw = static_cast<int>(widths.size()), nd = static_cast<int>(depths.size());
  // Row 0 of a heat map is its top: widest first, so width grows upwards as in the notebook.
  Eigen::MatrixXd train_loss(nw, nd), val_loss(nw, nd);
  std::ofstream csv; // rank 0's alone in a --distributed run (other ranks train and discard)
  if (examples::main_rank(o))
    csv.open(out + "width_depth_ablation.csv");
  csv << "width,depth,hidden_layers,parameters,train_loss,val_loss,train_time_s,compile_time_s\n";
  double train_time = 0, compile_time = 0, best_val = std::numeric_limits<double>::infinity();
  int best_width = 0, best_depth = 0;
  for (int i = 0; i < nw; ++i)
    for (int j = 0; j < nd; ++j) {
      const int width = widths[i], depth = depths[j], row = nw - 1 - i;
      Trainer trainer(fully_connected(width, depth), Loss::mse(),
                      std::make_shared<optim::Adam>(o.lr));
      // One checkpoint per cell: a killed ablation resumes in the cell it was in.
      const std::string ckpt =
          examples::checkpoint_path(o, "w" + std::to_string(width) + "-d" + std::to_string(depth));
      History h;
      EpochStats last;
      try {
        h = trainer.fit(parts.train, &parts.val,
                        examples::fit_options(o, examples::resume(trainer, o, ckpt), ckpt));
        last = examples::final_stats(h);
      } catch (const TrainingError& e) {
        // A diverged cell is part of the result: NaN losses, grey in the heat maps.
        std::printf("width %2d depth %2d: %s\n", width, depth, e.what());
      }
      train_loss(row, j) = last.train_loss;
      val_loss(row, j) = last.val_loss;
      train_time += h.train_time_s;
      compile_time += h.compile_time_s;
      if (last.val_loss < best_val) {
        best_val = last.val_loss;
        best_width = width;
        best_depth = depth;
      }
      const int params = (2 * width + 1) + depth * (width * width + width) + width;
      csv << width << ',' << depth << ',' << depth + 1 << ',' << params << ',' << last.train_loss
          << ',' << last.val_loss << ',' << h.train_time_s << ',' << h.compile_time_s << '\n';
      std::printf(
          "width %2d depth %2d: train loss %.4e  val loss %.4e  (compile %.2f s, train %.2f s)\n",
          width, depth, last.train_loss, last.val_loss, h.compile_time_s, h.train_time_s);
      std::fflush(stdout);
    }

  if (!examples::main_rank(o))
    return 0; // rank 0 reports
  std::vector<std::string> rows, cols;
  for (int i = nw - 1; i >= 0; --i)
    rows.push_back(std::to_string(widths[i]));
  for (int d : depths)
    cols.push_back(std::to_string(d));
  const std::string epochs = std::to_string(o.epochs) + (o.epochs == 1 ? " epoch" : " epochs");
  // heatmap() scales its colours to the finite values; when every cell diverged there are none.
  if (train_loss.array().isFinite().any())
    plot::heatmap(out + "width_depth_train_loss.png",
                  "final training loss after " + epochs + " (log colour)", train_loss, rows, cols,
                  "depth", "width", true);
  if (val_loss.array().isFinite().any())
    plot::heatmap(out + "width_depth_val_loss.png",
                  "final validation loss after " + epochs + " (log colour)", val_loss, rows, cols,
                  "depth", "width", true);

  const double wall = std::chrono::duration<double>(Clock::now() - start).count();
  std::printf("width_depth_ablation: %d networks, %s each, plots and CSV in %s\n", nw * nd,
              epochs.c_str(), out.c_str());
  examples::print_result({{"val_loss", best_val},
                          {"best_width", best_width},
                          {"best_depth", best_depth},
                          {"cells", nw * nd},
                          {"train_time_s", train_time},
                          {"compile_time_s", compile_time},
                          {"wall_time_s", wall}});
  return 0;
}
