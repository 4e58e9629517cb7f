#include "trainer/epoch_table.h"

#include <cmath>
#include <cstdio>

namespace kiln {

namespace {

constexpr const char* kHeader[] = {"epoch",    "run_loss", "run_acc", "train_loss", "train_acc",
                                   "val_loss", "val_acc",  "lr",      "seconds"};
// Losses and the learning rate take 12 columns, the rest 9 (the epoch 7).
constexpr int kWidth[] = {7, 12, 9, 12, 11, 12, 9, 12, 0};

std::string cell(const char* format, double v, bool percent = false) {
  if (std::isnan(v))
    return "-";
  char buf[32];
  std::snprintf(buf, sizeof buf, format, percent ? 100 * v : v);
  return buf;
}

std::string join(const std::string (&cells)[9]) {
  std::string line;
  for (int i = 0; i < 9; ++i) {
    line += cells[i];
    if (kWidth[i] > 0)
      line.append(
          static_cast<size_t>(std::max<int>(1, kWidth[i] - static_cast<int>(cells[i].size()))),
          ' ');
  }
  return line;
}

} // namespace

std::string epoch_table_header() {
  std::string cells[9];
  for (int i = 0; i < 9; ++i)
    cells[i] = kHeader[i];
  return join(cells);
}

std::string epoch_table_row(const EpochStats& s) {
  const std::string cells[9] = {std::to_string(s.epoch),
                                cell("%.4e", s.running_loss),
                                cell("%.2f", s.running_acc, true),
                                cell("%.4e", s.train_loss),
                                cell("%.2f", s.train_acc, true),
                                cell("%.4e", s.val_loss),
                                cell("%.2f", s.val_acc, true),
                                cell("%.4e", s.lr),
                                cell("%.3g", s.seconds)};
  return join(cells);
}

} // namespace kiln
