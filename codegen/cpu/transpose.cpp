#include "codegen/cpu/transpose.h"

#include <algorithm>
#include <vector>

#include "codegen/c_like.h"

namespace kiln::codegen {

void emit_transpose(CodeWriter& w, ir::DType t, const std::string& src, int64_t rows, int64_t cols,
                    const std::string& dst, int64_t pitch) {
  const bool f64 = t == ir::DType::F64;
  const int64_t lanes = f64 ? 8 : 16;
  const std::string vec = f64 ? "kiln_vd" : "kiln_vf",
                    shuffle = f64 ? "KILN_SHUFFLE_D" : "KILN_SHUFFLE_F";
  const std::string type = c_type_of(t);
  if (cols == 1) {
    // One column: its transpose is the same floats in a row, so whole vectors are copied. (The
    // network below would spend a shuffle per row; each costs compile time, ~0.3 ms.)
    w.line("// one column: copied as a row");
    for (int64_t bi = 0; bi * lanes < pitch; ++bi) {
      w.open("");
      w.line(vec + " kiln_s = {};");
      if (bi * lanes < rows)
        w.line("__builtin_memcpy(&kiln_s, " + src + " + " + std::to_string(bi * lanes) +
               ", sizeof(" + type + ") * " + std::to_string(std::min(lanes, rows - bi * lanes)) +
               ");");
      w.line("*(" + vec + "*)(" + dst + " + " + std::to_string(bi * lanes) + ") = kiln_s;");
      w.close();
    }
    return;
  }
  w.line("// transposed in blocks of " + std::to_string(lanes) + " x " + std::to_string(lanes));
  for (int64_t bi = 0; bi * lanes < rows; ++bi)
    for (int64_t bj = 0; bj * lanes < cols; ++bj) {
      w.open("");
      // The network: stage 0 holds the block's rows (zero past the matrix); each stage swaps
      // the off-diagonal sub-blocks of size b within every 2b x 2b block. Only what the stored
      // columns need is emitted.
      struct Step {
        std::string a, b, mask;
      };
      std::vector<std::vector<Step>> stages(1, std::vector<Step>(static_cast<size_t>(lanes)));
      auto name = [](size_t stage, int64_t i) {
        return "kiln_s" + std::to_string(stage) + "_" + std::to_string(i);
      };
      for (int64_t b = lanes / 2; b >= 1; b /= 2) {
        const size_t prev = stages.size() - 1;
        std::vector<Step> next(static_cast<size_t>(lanes));
        for (int64_t i = 0; i < lanes; ++i) {
          const int64_t lo = i & b ? i - b : i;
          std::string mask;
          for (int64_t c = 0; c < lanes; ++c) {
            const int64_t pick = i & b ? (c & b ? lanes + c : c + b) : (c & b ? lanes + c - b : c);
            mask += (c ? ", " : "") + std::to_string(pick);
          }
          next[static_cast<size_t>(i)] = {name(prev, lo), name(prev, lo + b), mask};
        }
        stages.push_back(next);
      }
      const int64_t stored = std::min(lanes, cols - bj * lanes);
      std::vector<std::vector<bool>> live(stages.size(),
                                          std::vector<bool>(static_cast<size_t>(lanes), false));
      for (int64_t c = 0; c < stored; ++c)
        live.back()[static_cast<size_t>(c)] = true;
      for (size_t st = stages.size() - 1; st > 0; --st)
        for (int64_t i = 0; i < lanes; ++i)
          if (live[st][static_cast<size_t>(i)]) {
            const int64_t b = lanes >> st, lo = i & b ? i - b : i;
            live[st - 1][static_cast<size_t>(lo)] = live[st - 1][static_cast<size_t>(lo + b)] =
                true;
          }
      for (int64_t r = 0; r < lanes; ++r) {
        if (!live[0][static_cast<size_t>(r)])
          continue;
        w.line(vec + " " + name(0, r) + " = {};");
        if (bi * lanes + r < rows)
          w.line("__builtin_memcpy(&" + name(0, r) + ", " + src + " + " +
                 std::to_string((bi * lanes + r) * cols + bj * lanes) + ", sizeof(" + type +
                 ") * " + std::to_string(stored) + ");");
      }
      for (size_t st = 1; st < stages.size(); ++st)
        for (int64_t i = 0; i < lanes; ++i)
          if (live[st][static_cast<size_t>(i)]) {
            const Step& x = stages[st][static_cast<size_t>(i)];
            w.line("const " + vec + " " + name(st, i) + " = " + shuffle + "(" + x.a + ", " + x.b +
                   ", " + x.mask + ");");
          }
      for (int64_t c = 0; c < stored; ++c)
        w.line("*(" + vec + "*)(" + dst + " + " +
               std::to_string((bj * lanes + c) * pitch + bi * lanes) +
               ") = " + name(stages.size() - 1, c) + ";");
      w.close();
    }
}

} // namespace kiln::codegen
