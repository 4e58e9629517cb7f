#include "plot/font.h"

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

namespace kiln::plot {

namespace {

constexpr int kCellHeight = 13;

struct Glyph {
  int width;        // ink columns; the advance is width + 1
  const char* rows; // 13 rows as 2 hex digits each, top row first; bit 7 is the leftmost column
};

// Printable ASCII from ' ' (32) to '~' (126). Drawn for kiln on a 13-row cell: row 0 empty,
// capitals and digits on rows 1-9, lowercase x-height rows 4-9, descenders rows 10-12.
constexpr Glyph kGlyphs[95] = {
    {3, "00000000000000000000000000"}, // ' '
    {1, "00808080808080800080000000"}, // '!'
    {3, "00A0A0A0000000000000000000"}, // '"'
    {6, "00004848FC4848FC4848000000"}, // '#'
    {5, "002078A0A0702828F020000000"}, // '$'
    {6, "0044A448081020485488000000"}, // '%'
    {6, "006090906040A4989864000000"}, // '&'
    {1, "00808080000000000000000000"}, // '\''
    {3, "00204040808080808040402000"}, // '('
    {3, "00804040202020202040408000"}, // ')'
    {5, "00000020A870A8200000000000"}, // '*'
    {5, "0000002020F820200000000000"}, // '+'
    {2, "0000000000000000C0C0408000"}, // ','
    {4, "0000000000F000000000000000"}, // '-'
    {2, "0000000000000000C0C0000000"}, // '.'
    {5, "00080810102040408080000000"}, // '/'
    {5, "00708888888888888870000000"}, // '0'
    {5, "002060A02020202020F8000000"}, // '1'
    {5, "007088080810204080F8000000"}, // '2'
    {5, "00708808083008088870000000"}, // '3'
    {5, "001030509090F8101010000000"}, // '4'
    {5, "00F88080F00808088870000000"}, // '5'
    {5, "0030408080F088888870000000"}, // '6'
    {5, "00F80808101020204040000000"}, // '7'
    {5, "00708888887088888870000000"}, // '8'
    {5, "00708888887808081060000000"}, // '9'
    {2, "00000000C0C00000C0C0000000"}, // ':'
    {2, "00000000C0C00000C0C0408000"}, // ';'
    {4, "00001020408040201000000000"}, // '<'
    {5, "00000000F800F8000000000000"}, // '='
    {4, "00008040201020408000000000"}, // '>'
    {5, "00708808102020200020000000"}, // '?'
    {6, "0078849CA4A4A49C8078000000"}, // '@'
    {6, "003048848484FC848484000000"}, // 'A'
    {6, "00F8848484F8848484F8000000"}, // 'B'
    {6, "00788480808080808478000000"}, // 'C'
    {6, "00F088848484848488F0000000"}, // 'D'
    {5, "00F8808080F0808080F8000000"}, // 'E'
    {5, "00F8808080F080808080000000"}, // 'F'
    {6, "00788480809C84848478000000"}, // 'G'
    {6, "0084848484FC84848484000000"}, // 'H'
    {3, "00E040404040404040E0000000"}, // 'I'
    {5, "00381010101010909060000000"}, // 'J'
    {6, "00848890A0C0A0908884000000"}, // 'K'
    {5, "008080808080808080F8000000"}, // 'L'
    {7, "0082C6AA928282828282000000"}, // 'M'
    {6, "0084C4C4A4A4948C8C84000000"}, // 'N'
    {6, "00788484848484848478000000"}, // 'O'
    {6, "00F8848484F880808080000000"}, // 'P'
    {6, "00788484848484948874000000"}, // 'Q'
    {6, "00F8848484F890888484000000"}, // 'R'
    {6, "00788480807804048478000000"}, // 'S'
    {7, "00FE1010101010101010000000"}, // 'T'
    {6, "00848484848484848478000000"}, // 'U'
    {7, "00828282444444282810000000"}, // 'V'
    {7, "00828282829292AAC682000000"}, // 'W'
    {6, "00848448483048488484000000"}, // 'X'
    {7, "00828244281010101010000000"}, // 'Y'
    {6, "00FC04081020408080FC000000"}, // 'Z'
    {3, "00E0808080808080808080E000"}, // '['
    {5, "00808040402010100808000000"}, // '\\'
    {3, "00E0202020202020202020E000"}, // ']'
    {5, "00205088000000000000000000"}, // '^'
    {6, "0000000000000000000000FC00"}, // '_'
    {2, "00804000000000000000000000"}, // '`'
    {5, "00000000700878888878000000"}, // 'a'
    {5, "00808080F088888888F0000000"}, // 'b'
    {5, "00000000708880808870000000"}, // 'c'
    {5, "00080808788888888878000000"}, // 'd'
    {5, "000000007088F8808870000000"}, // 'e'
    {4, "00304040F04040404040000000"}, // 'f'
    {5, "00000000788888888878088870"}, // 'g'
    {5, "00808080F08888888888000000"}, // 'h'
    {3, "00004000C040404040E0000000"}, // 'i'
    {4, "00001000301010101010109060"}, // 'j'
    {5, "0080808090A0C0A09088000000"}, // 'k'
    {3, "00C040404040404040E0000000"}, // 'l'
    {7, "00000000EC9292929292000000"}, // 'm'
    {5, "00000000F08888888888000000"}, // 'n'
    {5, "00000000708888888870000000"}, // 'o'
    {5, "00000000F088888888F0808080"}, // 'p'
    {5, "00000000788888888878080808"}, // 'q'
    {5, "00000000B0C880808080000000"}, // 'r'
    {5, "000000007880700808F0000000"}, // 's'
    {4, "00004040F04040404030000000"}, // 't'
    {5, "00000000888888888878000000"}, // 'u'
    {5, "00000000888888505020000000"}, // 'v'
    {7, "0000000082829292AA44000000"}, // 'w'
    {5, "00000000885020205088000000"}, // 'x'
    {5, "00000000888888888878088870"}, // 'y'
    {5, "00000000F808102040F8000000"}, // 'z'
    {4, "00304040404080404040403000"}, // '{'
    {1, "00808080808080808080808000"}, // '|'
    {4, "00C0202020201020202020C000"}, // '}'
    {6, "00000000649800000000000000"}, // '~'
};

int nibble(char c) {
  return c <= '9' ? c - '0' : c - 'A' + 10;
}

bool ink(const Glyph& g, int col, int row) {
  const int byte = nibble(g.rows[2 * row]) * 16 + nibble(g.rows[2 * row + 1]);
  return (byte >> (7 - col)) & 1;
}

// The glyphs of `text`: one per ASCII character, '?' for anything else (one per UTF-8 sequence).
std::vector<const Glyph*> glyphs_of(std::string_view text) {
  std::vector<const Glyph*> out;
  for (const char ch : text) {
    const auto c = static_cast<unsigned char>(ch);
    if (c >= 0x80 && c < 0xC0)
      continue; // a UTF-8 continuation byte
    out.push_back(&kGlyphs[(c >= 32 && c < 127 ? c : '?') - 32]);
  }
  return out;
}

// One pass of Scale2x (EPX): doubles a binary image, filling the corners of diagonal steps.
std::vector<uint8_t> scale2x(const std::vector<uint8_t>& src, int w, int h) {
  std::vector<uint8_t> dst(static_cast<size_t>(4 * w * h));
  const auto px = [&](int x, int y) -> uint8_t {
    return x < 0 || y < 0 || x >= w || y >= h ? 0 : src[static_cast<size_t>(y * w + x)];
  };
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x) {
      const uint8_t p = px(x, y), a = px(x, y - 1), b = px(x + 1, y), c = px(x - 1, y),
                    d = px(x, y + 1);
      const auto put = [&](int dx, int dy, uint8_t v) {
        dst[static_cast<size_t>((2 * y + dy) * 2 * w + 2 * x + dx)] = v;
      };
      put(0, 0, c == a && c != d && a != b ? a : p);
      put(1, 0, a == b && a != c && b != d ? b : p);
      put(0, 1, d == c && d != b && c != a ? c : p);
      put(1, 1, b == d && b != a && d != c ? d : p);
    }
  return dst;
}

} // namespace

int text_width(std::string_view text, int scale) {
  int w = 0;
  for (const Glyph* g : glyphs_of(text))
    w += g->width + 1;
  return std::max(w - 1, 0) * scale;
}

Mask render_text(std::string_view text, int scale) {
  scale = std::max(scale, 1);
  const int w = text_width(text, 1);
  std::vector<uint8_t> bits(static_cast<size_t>(w * kCellHeight), 0);
  int left = 0;
  for (const Glyph* g : glyphs_of(text)) {
    for (int row = 0; row < kCellHeight; ++row)
      for (int col = 0; col < g->width; ++col)
        if (ink(*g, col, row))
          bits[static_cast<size_t>(row * w + left + col)] = 1;
    left += g->width + 1;
  }
  Mask mask(w * scale, kCellHeight * scale);
  if (scale == 2) {
    // Scale2x twice gives a smooth outline at 4x; averaging 2x2 blocks anti-aliases it at 2x.
    const std::vector<uint8_t> x4 = scale2x(scale2x(bits, w, kCellHeight), 2 * w, 2 * kCellHeight);
    const int w4 = 4 * w;
    for (int y = 0; y < 2 * kCellHeight; ++y)
      for (int x = 0; x < 2 * w; ++x) {
        const auto at = [&](int dx, int dy) {
          return x4[static_cast<size_t>((2 * y + dy) * w4 + 2 * x + dx)];
        };
        const int sum = at(0, 0) + at(1, 0) + at(0, 1) + at(1, 1);
        if (sum > 0)
          mask.cover(x, y, static_cast<float>(sum) / 4.0f);
      }
    return mask;
  }
  for (int y = 0; y < kCellHeight * scale; ++y)
    for (int x = 0; x < w * scale; ++x)
      if (bits[static_cast<size_t>((y / scale) * w + x / scale)])
        mask.cover(x, y, 1.0f);
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
