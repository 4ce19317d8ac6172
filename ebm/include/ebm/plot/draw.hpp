#pragma once
// Drawing primitives on an Image: rectangles, anti-aliased lines and dots, and text in a built-in 5x7
// bitmap font (printable ASCII; anything else draws as a small box). All clip silently at the borders.
#include <string_view>

#include "ebm/plot/png.hpp"

namespace ebm::plot {

/// Glyphs are 5 wide and 7 tall (cap height); g, j, p, q, y and ',' descend one row below.
inline constexpr int kGlyphWidth = 5, kGlyphHeight = 7, kGlyphDescent = 1, kGlyphAdvance = 6;

/// Fills [x, x+w) x [y, y+h), mixing with opacity alpha.
void fill_rect(Image& img, int x, int y, int w, int h, Rgb c, double alpha = 1.0);
/// A 1-pixel outline just inside [x, x+w) x [y, y+h).
void draw_rect(Image& img, int x, int y, int w, int h, Rgb c);
/// An anti-aliased segment between pixel-centre coordinates, `thickness` pixels wide.
void draw_line(Image& img, double x0, double y0, double x1, double y1, Rgb c, double thickness = 1.0, double alpha = 1.0);
/// An anti-aliased filled disc.
void draw_dot(Image& img, double cx, double cy, double radius, Rgb c, double alpha = 1.0);
/// Text with its top-left corner at (x, y); each glyph is 5x7 (+1 descender row) pixels times `scale`, advancing 6 * scale.
void draw_text(Image& img, int x, int y, std::string_view text, Rgb c, int scale = 1);
/// Width in pixels of `text` drawn at `scale` (no trailing gap).
int text_width(std::string_view text, int scale = 1);

}  // namespace ebm::plot
