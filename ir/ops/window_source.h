#pragma once
// Writing the C of one element of a window op (ir/window.h) through an ElementWriter: named
// index variables, the loops over a window's taps and the bounds checks of zero padding, so
// that each op's rendering reads like its formula. Used by ir/ops/conv.cpp and pool.cpp.

#include <array>
#include <map>
#include <string>
#include <utility>

#include "ir/dtype.h"
#include "ir/window.h"

namespace kiln::ir {

class WindowSource {
public:
  /** Declares the accumulator `acc` of type `t`, starting at `init` (a C expression; nullptr:
      no accumulator, only loops). */
  WindowSource(ElementWriter& w, DType t, const char* init = "0")
      : w_(w), t_(c_type(t)), i_(w.index_type()), acc_(init ? w.fresh("acc") : "") {
    if (init)
      w_.line(t_ + " " + acc_ + " = (" + t_ + ")" + init + ";");
  }

  /** `const <index type> <fresh stem> = expr;`; returns the name. */
  std::string bind(const std::string& stem, const std::string& expr) {
    const std::string v = w_.fresh(stem);
    w_.line("const " + i_ + " " + v + " = " + expr + ";");
    return v;
  }
  /** A dim as C: "N" for the batch. */
  static std::string num(int64_t d) { return d == kBatch ? "N" : std::to_string(d); }
  /** The C type of the element. */
  const std::string& type() const { return t_; }
  /** The accumulator. */
  const std::string& result() const { return acc_; }
  /** The variable a loop opened as `stem`. */
  const std::string& var(const std::string& stem) const { return vars_.at(stem); }

  /** Opens `for (v = 0; v < extent; ++v)`, remembered as `stem`. */
  std::string open_for(const std::string& stem, int64_t extent) {
    const std::string v = w_.fresh(stem);
    vars_[stem] = v;
    open("for (" + i_ + " " + v + " = 0; " + v + " < " + num(extent) + "; ++" + v + ")");
    return v;
  }

  /**
   * Forward taps of the window at output position (p, q): loops ky, kx and returns the input
   * position (iy, ix), skipping taps in the zero padding.
   */
  std::pair<std::string, std::string> open_taps(const Window2d& k, const std::string& p,
                                                const std::string& q, int64_t h, int64_t w) {
    open_for("ky", k.kh);
    const std::string iy = bind("iy", affine(p, k.sh, var("ky"), k.dh, -k.ph));
    if (k.ph > 0)
      open("if (" + iy + " >= 0 && " + iy + " < " + num(h) + ")");
    open_for("kx", k.kw);
    const std::string ix = bind("ix", affine(q, k.sw, var("kx"), k.dw, -k.pw));
    if (k.pw > 0)
      open("if (" + ix + " >= 0 && " + ix + " < " + num(w) + ")");
    return {iy, ix};
  }

  /**
   * The windows that contain input position (iy, ix), found by their taps: loops ky, kx and
   * returns each window's output position (p, q), skipping taps that land between strides or
   * outside the output.
   */
  std::pair<std::string, std::string> open_windows(const Window2d& k, const std::string& iy,
                                                   const std::string& ix, int64_t oh, int64_t ow) {
    open_for("ky", k.kh);
    const std::string p = stride_back(iy, k.ph, var("ky"), k.dh, k.sh, oh, "p");
    open_for("kx", k.kw);
    const std::string q = stride_back(ix, k.pw, var("kx"), k.dw, k.sw, ow, "q");
    return {p, q};
  }

  /**
   * For a fixed tap (ky, kx): loops over the output positions (p, q) and returns them with the
   * input positions (iy, ix) they read there, skipping those in the zero padding.
   */
  std::array<std::string, 4> open_outputs(const Window2d& k, const std::string& ky,
                                          const std::string& kx, int64_t h, int64_t w, int64_t oh,
                                          int64_t ow) {
    const std::string p = open_for("p", oh);
    const std::string iy = bind("iy", affine(p, k.sh, ky, k.dh, -k.ph));
    if (k.ph > 0)
      open("if (" + iy + " >= 0 && " + iy + " < " + num(h) + ")");
    const std::string q = open_for("q", ow);
    const std::string ix = bind("ix", affine(q, k.sw, kx, k.dw, -k.pw));
    if (k.pw > 0)
      open("if (" + ix + " >= 0 && " + ix + " < " + num(w) + ")");
    return {iy, ix, p, q};
  }

  /** `acc += term;` */
  void add(const std::string& term) { w_.line(acc_ + " += " + term + ";"); }

  /** Opens a block (counted for close_all). */
  void open(const std::string& head) {
    w_.open(head);
    ++open_;
  }
  /** Closes every block opened so far. */
  void close_all() {
    for (; open_ > 0; --open_)
      w_.close();
  }

  /** a s + b d + c, with unit factors and zero terms left out. */
  static std::string affine(const std::string& a, int64_t s, const std::string& b, int64_t d,
                            int64_t c) {
    std::string e = s == 1 ? a : a + " * " + std::to_string(s);
    e += " + " + (d == 1 ? b : b + " * " + std::to_string(d));
    if (c > 0)
      e += " + " + std::to_string(c);
    if (c < 0)
      e += " - " + std::to_string(-c);
    return e;
  }

private:
  /** The output position whose tap `k` (dilation d, stride s, padding pad) reads input i. */
  std::string stride_back(const std::string& i, int64_t pad, const std::string& k, int64_t d,
                          int64_t s, int64_t out, const std::string& stem) {
    std::string t = i;
    if (pad > 0)
      t += " + " + std::to_string(pad);
    t += " - " + (d == 1 ? k : k + " * " + std::to_string(d));
    const std::string tv = bind("t" + stem, t);
    if (s == 1) {
      open("if (" + tv + " >= 0 && " + tv + " < " + num(out) + ")");
      return tv;
    }
    // C's % of a negative number is negative: test the sign first.
    open("if (" + tv + " >= 0 && " + tv + " % " + std::to_string(s) + " == 0 && " + tv + " / " +
         std::to_string(s) + " < " + num(out) + ")");
    return bind(stem, tv + " / " + std::to_string(s));
  }

  ElementWriter& w_;
  const std::string t_, i_, acc_;
  std::map<std::string, std::string> vars_;
  int open_ = 0;
};

} // namespace kiln::ir
