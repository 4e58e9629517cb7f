#include "codegen/cpu/transpose.h"

#include <algorithm>
#include <utility>
#include <vector>

#include "codegen/c_like.h"
#include "codegen/cpu/row_block_util.h"

namespace kiln::codegen {
namespace {

/**
 * Pieces of a row-major matrix cut from its whole vectors, those that start at multiples of the
 * lanes, each loaded once in the current block. The update that wrote the weights in the step
 * before (a flat result, codegen/cpu/row_block.h) stored exactly such vectors, and a load is
 * forwarded from one store only: a row loaded across two of them waits for both to reach the
 * cache (W2's step, dumped and called in a loop: 0.515 -> 0.495 us with the rows cut here).
 */
class FlatVectors {
public:
  FlatVectors(CodeWriter& w, ir::DType t, std::string src, int64_t numel)
      : w_(w), src_(std::move(src)), numel_(numel) {
    lanes_ = row_block::lanes(t);
    vec_ = row_block::vector_type(t);
    shuffle_ = row_block::shuffle_macro(t);
    type_ = c_type_of(t);
    loaded_.assign(static_cast<size_t>((numel + lanes_ - 1) / lanes_), false);
  }

  /**
   * A vector whose first `count` lanes (at most the lanes) hold elements start, start + 1, ...
   * of the matrix; the other lanes hold anything.
   */
  std::string piece(int64_t start, int64_t count) {
    const int64_t off = start % lanes_;
    const std::string a = vector(start / lanes_);
    if (off == 0)
      return a;
    const std::string b = off + count > lanes_ ? vector(start / lanes_ + 1) : a;
    std::string mask;
    for (int64_t c = 0; c < lanes_; ++c)
      mask += (c ? ", " : "") + std::to_string(c < count ? off + c : -1);
    return shuffle_ + "(" + a + ", " + b + ", " + mask + ")";
  }

  /** The k-th whole vector, zero past the matrix (and all zero from the matrix's end on). */
  std::string vector(int64_t k) {
    if (k * lanes_ >= numel_)
      return vec_ + "{}";
    const std::string v = "kiln_f" + std::to_string(k);
    if (!loaded_[static_cast<size_t>(k)]) {
      loaded_[static_cast<size_t>(k)] = true;
      w_.line(vec_ + " " + v + " = {};");
      w_.line("__builtin_memcpy(&" + v + ", " + src_ + " + " + std::to_string(k * lanes_) +
              ", sizeof(" + type_ + ") * " + std::to_string(std::min(lanes_, numel_ - k * lanes_)) +
              ");");
    }
    return v;
  }

private:
  CodeWriter& w_;
  std::string src_, vec_, shuffle_, type_;
  int64_t numel_, lanes_;
  std::vector<bool> loaded_;
};

// Vector `v`, declared here: `count` elements from `from` (C pointer expressions), zero past
// them, stored whole at `to`, one store for the vector loads that read it back.
void copy_padded_vector(CodeWriter& w, ir::DType t, const std::string& v, const std::string& from,
                        int64_t count, const std::string& to) {
  w.line(row_block::vector_type(t) + " " + v + " = {};");
  if (count > 0)
    w.line("__builtin_memcpy(&" + v + ", " + from + ", sizeof(" + c_type_of(t) + ") * " +
           std::to_string(count) + ");");
  w.line(row_block::store(t, to, v));
}

} // namespace

void emit_transpose(CodeWriter& w, ir::DType t, const std::string& src, int64_t rows, int64_t cols,
                    const std::string& dst, int64_t pitch) {
  const int64_t lanes = row_block::lanes(t);
  const std::string vec = row_block::vector_type(t), shuffle = row_block::shuffle_macro(t);
  if (cols == 1) {
    // One column: its transpose is the same floats in a row, so whole vectors are copied. (The
    // network below would spend a shuffle per row; each costs compile time, ~0.3 ms.)
    w.line("// one column: copied as a row");
    for (int64_t bi = 0; bi * lanes < pitch; ++bi) {
      const std::string at = " + " + std::to_string(bi * lanes);
      w.open("");
      copy_padded_vector(w, t, "kiln_s", src + at, std::min(lanes, rows - bi * lanes), dst + at);
      w.close();
    }
    return;
  }
  if (cols == 2) {
    // Two columns: each block of rows is two whole vectors, and a row of the transpose takes
    // every other lane of them, one shuffle (the network below: ~30, each ~0.3 ms to compile
    // and deeper in the next step's path from the update to the first layer).
    w.line("// two columns: every other lane");
    for (int64_t bi = 0; bi * lanes < pitch; ++bi) {
      w.open("");
      FlatVectors flat(w, t, src, rows * cols);
      const std::string a = flat.vector(2 * bi), b = flat.vector(2 * bi + 1);
      for (int64_t c = 0; c < 2; ++c) {
        std::string mask;
        for (int64_t l = 0; l < lanes; ++l)
          mask += (l ? ", " : "") + std::to_string(2 * l + c);
        w.line("*(" + vec + "*)(" + dst + " + " + std::to_string(c * pitch + bi * lanes) +
               ") = " + shuffle + "(" + a + ", " + b + ", " + mask + ");");
      }
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
      // The block's rows cut from the matrix's whole vectors (FlatVectors), zero past it.
      FlatVectors flat(w, t, src, rows * cols);
      for (int64_t r = 0; r < lanes; ++r) {
        if (!live[0][static_cast<size_t>(r)])
          continue;
        // Lanes past the row's `stored` elements become rows of the transpose that are not
        // stored: they may hold anything.
        w.line(vec + " " + name(0, r) + " = " +
               (bi * lanes + r < rows ? flat.piece((bi * lanes + r) * cols + bj * lanes, stored)
                                      : vec + "{}") +
               ";");
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

void emit_padded_rows(CodeWriter& w, ir::DType t, const std::string& src, int64_t rows,
                      int64_t cols, const std::string& dst, int64_t pitch) {
  const int64_t lanes = row_block::lanes(t);
  const std::string n = std::to_string(cols), p = std::to_string(pitch);
  w.open("");
  w.line("KILN_ROWS");
  w.open("for (long long kiln_k = 0; kiln_k < " + std::to_string(rows) + "; ++kiln_k)");
  for (int64_t c = 0; c < pitch; c += lanes) {
    const std::string at = " + " + std::to_string(c);
    copy_padded_vector(w, t, "kiln_v" + std::to_string(c / lanes), src + " + kiln_k*" + n + at,
                       std::min(lanes, cols - c), dst + " + kiln_k*" + p + at);
  }
  w.close();
  w.close();
}

} // namespace kiln::codegen
