#pragma once
// Text in the plots: a TrueType font (DejaVu Sans from Debian's fonts-dejavu-core, or the file
// $KILN_PLOT_FONT names), anti-aliased. Text sits in a cell 13 pixels tall at scale 1: capitals
// and digits fill rows 1–9 (the cap height, 9 pixels), descenders reach row 12. Any character
// the font has is drawn (σ, θ, ²); one it lacks is drawn as '?'. A font that cannot be read is
// a kiln::DataError naming the file.

#include "plot/canvas.h"

#include <string_view>

namespace kiln::plot {

/** Where a text box sits relative to its anchor along one axis. */
enum class Align { Start, Centre, End };

/** Height of the cap box (capitals and digits) at scale 1, the box that alignment refers to. */
inline constexpr int kCapHeight = 9;

/** Width in pixels of `text` (UTF-8) drawn at `scale` (1 or 2). */
int text_width(std::string_view text, int scale);

/**
 * The coverage mask of `text` (UTF-8) at `scale`: text_width × 13·scale pixels, the cap box at
 * rows [scale, 10·scale), the baseline at 10·scale.
 */
Mask render_text(std::string_view text, int scale);

/**
 * Draws `text` with its box aligned to (x, y): horizontally by `h` (Start = left edge at x),
 * vertically by `v` applied to the cap box (Start = top of the capitals at y, Centre = their
 * middle, End = the baseline). Descenders hang below the cap box.
 */
void draw_text(Canvas& canvas, double x, double y, std::string_view text, Rgb colour, int scale,
               Align h = Align::Start, Align v = Align::Start);

/**
 * Draws `text` turned 90° counter-clockwise (reading upward), as on a y axis. `along` aligns the
 * text's length to y (Centre: centred on y); `across` aligns the cap box to x (Start: the tops of
 * the letters, which face left, at x).
 */
void draw_text_vertical(Canvas& canvas, double x, double y, std::string_view text, Rgb colour,
                        int scale, Align along = Align::Centre, Align across = Align::Start);

} // namespace kiln::plot
