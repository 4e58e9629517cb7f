// Text for the plots: DejaVu Sans (Debian's fonts-dejavu-core) rasterized with stb_truetype,
// anti-aliased at subpixel positions, so labels may use any character the font has (σ, θ, ²).

#include "plot/font.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <memory>
#include <string>
#include <vector>

#define STBTT_STATIC
#define STB_TRUETYPE_IMPLEMENTATION
#include <stb/stb_truetype.h>

#include "base/error.h"

namespace kiln::plot {

namespace {

constexpr int kCellHeight = 13;
constexpr int kBaseline = 10; // the cap box is rows [1, 10) of the cell, at scale 1

/** The font, read once: $KILN_PLOT_FONT, else the DejaVu Sans that CMake found. */
struct Font {
  std::vector<unsigned char> bytes;
  stbtt_fontinfo info{};
  /** Font units of the capitals' height ('H'), which kCapHeight pixels must hold. */
  int cap_units = 0;

  Font() {
    const char* env = std::getenv("KILN_PLOT_FONT");
    const std::string path = env && *env ? env : KILN_PLOT_FONT;
    std::ifstream in(path, std::ios::binary);
    bytes.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    if (!in || bytes.empty() ||
        !stbtt_InitFont(&info, bytes.data(), stbtt_GetFontOffsetForIndex(bytes.data(), 0)))
      throw DataError(str("[plot] ", path,
                          ": cannot read a TrueType font there (install "
                          "fonts-dejavu-core, or set KILN_PLOT_FONT to a .ttf file)"));
    int x0 = 0, y0 = 0, x1 = 0, y1 = 0;
    stbtt_GetCodepointBox(&info, 'H', &x0, &y0, &x1, &y1);
    cap_units = std::max(y1, 1);
  }
  /** Pixels per font unit at `scale`. */
  float pixels(int scale) const {
    return static_cast<float>(kCapHeight * scale) / static_cast<float>(cap_units);
  }
};

const Font& font() {
  static const Font f;
  return f;
}

/** The code points of UTF-8 text; a byte that starts no valid sequence counts as U+FFFD. */
std::vector<int> code_points(std::string_view text) {
  std::vector<int> out;
  for (size_t i = 0; i < text.size();) {
    const auto c = static_cast<unsigned char>(text[i]);
    const int n = c < 0x80             ? 0
                  : (c & 0xE0) == 0xC0 ? 1
                  : (c & 0xF0) == 0xE0 ? 2
                  : (c & 0xF8) == 0xF0 ? 3
                                       : -1;
    int cp = n < 0 ? 0xFFFD : c & (0x7F >> n);
    int k = 1;
    for (; n > 0 && k <= n && i + k < text.size(); ++k) {
      const auto b = static_cast<unsigned char>(text[i + k]);
      if ((b & 0xC0) != 0x80)
        break;
      cp = cp << 6 | (b & 0x3F);
    }
    if (n > 0 && k <= n)
      cp = 0xFFFD, k = 1;
    out.push_back(cp);
    i += static_cast<size_t>(n > 0 ? k : 1);
  }
  return out;
}

/** A glyph the font has for `cp`: itself, else '?'. */
int glyph_of(int cp) {
  const int g = stbtt_FindGlyphIndex(&font().info, cp);
  return g != 0 ? g : stbtt_FindGlyphIndex(&font().info, '?');
}

/** Pen positions (in pixels, from 0) of each glyph of `text`, and the total advance. */
std::vector<float> layout(const std::vector<int>& glyphs, int scale, float& advance) {
  const float px = font().pixels(scale);
  std::vector<float> pen;
  float x = 0;
  for (size_t i = 0; i < glyphs.size(); ++i) {
    if (i > 0)
      x += px *
           static_cast<float>(stbtt_GetGlyphKernAdvance(&font().info, glyphs[i - 1], glyphs[i]));
    pen.push_back(x);
    int adv = 0, lsb = 0;
    stbtt_GetGlyphHMetrics(&font().info, glyphs[i], &adv, &lsb);
    x += px * static_cast<float>(adv);
  }
  advance = x;
  return pen;
}

std::vector<int> glyphs_of(std::string_view text) {
  std::vector<int> out;
  for (int cp : code_points(text))
    out.push_back(glyph_of(cp));
  return out;
}

} // namespace

int text_width(std::string_view text, int scale) {
  float advance = 0;
  layout(glyphs_of(text), std::max(scale, 1), advance);
  return static_cast<int>(std::ceil(advance));
}

Mask render_text(std::string_view text, int scale) {
  scale = std::max(scale, 1);
  const std::vector<int> glyphs = glyphs_of(text);
  float advance = 0;
  const std::vector<float> pen = layout(glyphs, scale, advance);
  Mask mask(static_cast<int>(std::ceil(advance)), kCellHeight * scale);
  const float px = font().pixels(scale);
  const int baseline = kBaseline * scale;
  for (size_t i = 0; i < glyphs.size(); ++i) {
    const float shift = pen[i] - std::floor(pen[i]);
    int x0 = 0, y0 = 0, x1 = 0, y1 = 0;
    stbtt_GetGlyphBitmapBoxSubpixel(&font().info, glyphs[i], px, px, shift, 0, &x0, &y0, &x1, &y1);
    const int w = x1 - x0, h = y1 - y0;
    if (w <= 0 || h <= 0)
      continue; // a space
    std::vector<unsigned char> bitmap(static_cast<size_t>(w * h));
    stbtt_MakeGlyphBitmapSubpixel(&font().info, bitmap.data(), w, h, w, px, px, shift, 0,
                                  glyphs[i]);
    const int left = static_cast<int>(std::floor(pen[i])) + x0, top = baseline + y0;
    for (int y = 0; y < h; ++y)
      for (int x = 0; x < w; ++x)
        if (const unsigned char a = bitmap[static_cast<size_t>(y * w + x)])
          mask.cover(left + x, top + y, static_cast<float>(a) / 255.0f);
  }
  return mask;
}

namespace {

// Offset of a box's start from its anchor.
double aligned(double anchor, double size, Align a) {
  switch (a) {
  case Align::Start:
    return anchor;
  case Align::Centre:
    return anchor - size / 2.0;
  case Align::End:
    return anchor - size;
  }
  return anchor;
}

} // namespace

void draw_text(Canvas& canvas, double x, double y, std::string_view text, Rgb colour, int scale,
               Align h, Align v) {
  const Mask m = render_text(text, scale);
  const double left = aligned(x, m.width(), h);
  const double cap_top = aligned(y, kCapHeight * scale, v);
  canvas.paint(m, colour, 1.0, static_cast<int>(std::lround(left)),
               static_cast<int>(std::lround(cap_top)) - scale);
}

void draw_text_vertical(Canvas& canvas, double x, double y, std::string_view text, Rgb colour,
                        int scale, Align along, Align across) {
  const Mask m = render_text(text, scale);
  // Turn counter-clockwise: column x of the text becomes row (width - 1 - x).
  Mask turned(m.height(), m.width());
  for (int r = 0; r < m.height(); ++r)
    for (int c = 0; c < m.width(); ++c)
      turned.cover(r, m.width() - 1 - c, m.at(c, r));
  // `along` counts from the start of the text, which is at the bottom.
  const double bottom = aligned(y, -m.width(), along);
  const double cap_left = aligned(x, kCapHeight * scale, across);
  canvas.paint(turned, colour, 1.0, static_cast<int>(std::lround(cap_left)) - scale,
               static_cast<int>(std::lround(bottom - m.width())));
}

} // namespace kiln::plot
