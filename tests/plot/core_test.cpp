// The drawing core: ticks, the font, canvas strokes and PNG output.

#include "plot/canvas.h"
#include "plot/colour.h"
#include "plot/font.h"
#include "plot/ticks.h"

#include "png_image.h"
#include "tests/support/temp_dir.h"

#include "base/error.h"

#include <catch2/catch.hpp>

#include <cmath>
#include <set>

using namespace kiln::plot;
using kiln::test::load_png;
using kiln::test::TempDir;

namespace {

using Strings = std::vector<std::string>;

} // namespace

TEST_CASE("linear_ticks: round steps within the range", "[plot]") {
  const Ticks a = linear_ticks(0.0, 1.0, 6);
  CHECK(a.labels == Strings{"0", "0.2", "0.4", "0.6", "0.8", "1.0"});
  const Ticks b = linear_ticks(-3.2, 3.2, 8);
  CHECK(b.labels == Strings{"-3", "-2", "-1", "0", "1", "2", "3"});
  const Ticks c = linear_ticks(0.93, 61.4, 8);
  CHECK(c.labels == Strings{"10", "20", "30", "40", "50", "60"});
  const Ticks d = linear_ticks(0.0, 1.0, 4);
  CHECK(d.labels == Strings{"0", "0.5", "1.0"});
  const Ticks e = linear_ticks(-0.07, 0.31, 5);
  CHECK(e.labels == Strings{"0", "0.1", "0.2", "0.3"});
  const Ticks f = linear_ticks(0.0, 10.0, 5);
  CHECK(f.labels == Strings{"0", "2.5", "5.0", "7.5", "10.0"});
  for (const Ticks* t : {&a, &b, &c, &d, &e, &f})
    CHECK(t->values.size() == t->labels.size());
}

TEST_CASE("log_ticks: powers of ten, or 1-2-5 on short ranges", "[plot]") {
  CHECK(log_ticks(1e-4, 20.0, 8).labels == Strings{"0.0001", "0.001", "0.01", "0.1", "1", "10"});
  CHECK(log_ticks(0.015, 0.9, 8).labels == Strings{"0.02", "0.05", "0.1", "0.2", "0.5"});
  // Thirteen powers of ten, at most six ticks: every third power.
  CHECK(log_ticks(1e-9, 1e3, 6).labels == Strings{"1e-9", "1e-6", "0.001", "1", "1000"});
  // No two 1-2-5 values in range: round linear steps instead.
  CHECK(log_ticks(0.31, 0.44, 8).labels == Strings{"0.325", "0.350", "0.375", "0.400", "0.425"});
  const std::vector<double> minor = log_minor_ticks(0.15, 3.0);
  CHECK(minor.front() == Approx(0.2));
  CHECK(minor.back() == Approx(3.0));
  CHECK(minor.size() == 10); // 0.2 … 0.9, 2, 3
}

TEST_CASE("format_tick and format_value", "[plot]") {
  CHECK(format_tick(0.25, 0.05) == "0.25");
  CHECK(format_tick(1500.0, 500.0) == "1500");
  CHECK(format_tick(-1e-17, 0.1) == "0");
  CHECK(format_tick(-0.0, 1.0) == "0");
  CHECK(format_tick(250000.0, 50000.0) == "2.5e5");
  CHECK(format_tick(2.4e-5, 2e-6) == "2.4e-5");
  CHECK(format_value(0.01234) == "0.0123");
  CHECK(format_value(42.46) == "42.5");
  CHECK(format_value(1.234e-5) == "1.23e-5");
  CHECK(format_value(std::nan("")) == "nan");
}

TEST_CASE("font: every printable ASCII glyph has ink and its own shape", "[plot]") {
  std::set<std::vector<float>> shapes;
  for (char c = 33; c < 127; ++c) {
    const std::string s(1, c);
    const Mask m = render_text(s, 1);
    REQUIRE(m.width() == text_width(s, 1));
    REQUIRE(m.height() == 13);
    std::vector<float> bits;
    float ink = 0;
    for (int y = 0; y < m.height(); ++y)
      for (int x = 0; x < m.width(); ++x) {
        bits.push_back(m.at(x, y));
        ink += m.at(x, y);
      }
    INFO("glyph '" << c << "'");
    CHECK(ink >= 1.5); // DejaVu's period at this size: 1.9 pixels of ink
    shapes.insert(bits);
  }
  CHECK(shapes.size() == 94);
  // Widths add up along the text (up to the rounding of each part and kerning).
  CHECK(text_width(" ", 1) >= 3);
  CHECK(std::abs(text_width("Hi", 1) - text_width("H", 1) - text_width("i", 1)) <= 1);
  CHECK(std::abs(text_width("loss 0.01", 2) - 2 * text_width("loss 0.01", 1)) <= 1);
}

TEST_CASE("font: capitals fill the cap box, descenders hang below the baseline", "[plot]") {
  auto rows_with_ink = [](const Mask& m) {
    int first = m.height(), last = -1;
    for (int y = 0; y < m.height(); ++y)
      for (int x = 0; x < m.width(); ++x)
        if (m.at(x, y) > 0.5f) {
          first = std::min(first, y);
          last = std::max(last, y);
        }
    return std::pair(first, last);
  };
  // The cap box is rows [1, 10) at scale 1: an 'H' covers it, and only it (anti-aliased edges
  // aside); a 'p' reaches below row 10 and stays inside the cell.
  CHECK(rows_with_ink(render_text("H", 1)) == std::pair(1, 9));
  const auto [p_top, p_bottom] = rows_with_ink(render_text("p", 1));
  CHECK(p_top >= 3);
  CHECK(p_bottom >= 11);
  CHECK(p_bottom <= 12);
}

TEST_CASE("font: text beyond ASCII is drawn with the font's own glyphs", "[plot]") {
  auto same = [](const Mask& a, const Mask& b) {
    if (a.width() != b.width() || a.height() != b.height())
      return false;
    for (int y = 0; y < a.height(); ++y)
      for (int x = 0; x < a.width(); ++x)
        if (a.at(x, y) != b.at(x, y))
          return false;
    return true;
  };
  // sigma and a superscript two are in the font: drawn, not replaced.
  CHECK_FALSE(same(render_text("σ²", 1), render_text("??", 1)));
  CHECK(text_width("σ²", 1) > 0);
  // A character the font lacks, and bytes that are not UTF-8, are drawn as '?'.
  CHECK(same(render_text("\xe6\xbc\xa2", 1), render_text("?", 1))); // U+6F22, a CJK ideograph
  CHECK(text_width("\xff", 1) == text_width("\xef\xbf\xbd", 1));    // U+FFFD, as the font has it
}

TEST_CASE("font: scale 2 is smoothed, not just blocky", "[plot]") {
  const Mask one = render_text("Avoid 2x", 1), two = render_text("Avoid 2x", 2);
  REQUIRE(two.width() == 2 * one.width());
  REQUIRE(two.height() == 26);
  double ink1 = 0, ink2 = 0;
  int partial = 0;
  for (int y = 0; y < two.height(); ++y)
    for (int x = 0; x < two.width(); ++x) {
      ink2 += two.at(x, y);
      partial += two.at(x, y) > 0.0f && two.at(x, y) < 1.0f;
    }
  for (int y = 0; y < one.height(); ++y)
    for (int x = 0; x < one.width(); ++x)
      ink1 += one.at(x, y);
  CHECK(ink2 == Approx(4 * ink1).epsilon(0.25)); // about the same weight, four times the area
  CHECK(partial > 20);                           // anti-aliased diagonals
}

TEST_CASE("canvas: anti-aliased strokes, discs, dashes and clipping", "[plot]") {
  Canvas c(60, 40);
  c.polyline({{5.0, 10.0}, {55.0, 10.0}}, kBlack, 2.0);
  // A 2-pixel line centred on y = 10 covers rows 9 and 10 fully and nothing beyond.
  CHECK(c.at(30, 9) == kBlack);
  CHECK(c.at(30, 10) == kBlack);
  CHECK(c.at(30, 8) == kWhite);
  CHECK(c.at(30, 11) == kWhite);
  // A diagonal line gets partly covered pixels at its edges.
  c.polyline({{5.0, 15.0}, {55.0, 35.0}}, kBlack, 1.5);
  int grey = 0;
  for (int x = 0; x < 60; ++x)
    for (int y = 14; y < 40; ++y)
      grey += c.at(x, y).r > 0 && c.at(x, y).r < 255;
  CHECK(grey > 30);

  Canvas d(40, 40);
  d.disc({20.0, 20.0}, 8.0, kBlack);
  double covered = 0;
  for (int y = 0; y < 40; ++y)
    for (int x = 0; x < 40; ++x)
      covered += (255 - d.at(x, y).r) / 255.0;
  CHECK(covered == Approx(3.14159265 * 64).epsilon(0.03));

  Canvas e(100, 10);
  e.polyline({{0.0, 5.0}, {100.0, 5.0}}, kBlack, 2.0, 10.0, 10.0);
  CHECK(e.at(5, 5) == kBlack);  // in the first dash
  CHECK(e.at(15, 5) == kWhite); // in the first gap
  CHECK(e.at(25, 5) == kBlack);

  Canvas f(20, 20);
  f.set_clip(0, 0, 10, 20);
  f.fill_rect(0, 0, 20, 20, kBlack);
  CHECK(f.at(9, 5) == kBlack);
  CHECK(f.at(10, 5) == kWhite);
  f.clear_clip();
  f.fill_rect(10.5, 0, 20, 20, kBlack);
  CHECK(f.at(10, 5) == Rgb{128, 128, 128}); // half covered
}

TEST_CASE("canvas: PNG out, and a clear error when the path cannot be written", "[plot][errors]") {
  const TempDir dir("plot-canvas");
  Canvas c(7, 5, Rgb{10, 20, 30});
  c.fill_rect(2, 1, 3, 2, Rgb{200, 100, 50});
  const std::string path = dir.file("c.png");
  c.write_png(path);
  const kiln::test::PngImage img = load_png(path);
  REQUIRE(img.width == 7);
  REQUIRE(img.height == 5);
  CHECK(img.at(0, 0) == Rgb{10, 20, 30});
  CHECK(img.at(2, 1) == Rgb{200, 100, 50});
  const std::string bad = dir.file("missing-dir/c.png");
  CHECK_THROWS_MATCHES(c.write_png(bad), kiln::Error,
                       Catch::Matchers::Message(
                           "[plot] " + bad + ": cannot write the PNG: No such file or directory"));
}

TEST_CASE("colours: Tableau 10 cycle and viridis ends", "[plot]") {
  CHECK(tableau10(0) == Rgb{31, 119, 180});
  CHECK(tableau10(11) == tableau10(1));
  CHECK(viridis(0.0) == Rgb{68, 1, 84});
  CHECK(viridis(1.0) == Rgb{253, 231, 37});
  CHECK(viridis(-1.0) == viridis(0.0));
  // Perceptual: brightness rises steadily from one end to the other.
  for (int i = 1; i <= 20; ++i)
    CHECK(luminance(viridis(i / 20.0)) > luminance(viridis((i - 1) / 20.0)));
  CHECK(mix(kBlack, kWhite, 0.5) == Rgb{128, 128, 128});
}
