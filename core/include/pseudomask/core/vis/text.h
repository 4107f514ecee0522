// SPDX-License-Identifier: MIT
// A tiny bitmap font for titles, ids and legends on the pictures `show` draws.
#pragma once

#include <array>
#include <cstdint>
#include <string>

#include "pseudomask/core/common/image.h"

namespace pm {

/// Glyphs are 5×7 font pixels in a 6×9 cell (one column and two rows of spacing).
constexpr int kGlyphWidth = 5;
constexpr int kGlyphHeight = 7;
constexpr int kGlyphAdvance = 6;
constexpr int kTextLineHeight = 9;

/// The width in pixels of `text` drawn at `scale` (the last glyph's spacing column not counted).
int text_width(const std::string& text, int scale = 1);

/// Draws `text` with its top-left corner at (x, y), each font pixel a scale×scale square, in
/// `color`. Letters (lower case drawn as capitals), digits, space and _ - . , : ; ( ) [ ] / % + =
/// # < > ' have glyphs; any other byte draws as a hollow box. Pixels outside the image are
/// clipped.
void draw_text(RgbImage& image,
               int x,
               int y,
               const std::string& text,
               std::array<uint8_t, 3> color,
               int scale = 1);

}  // namespace pm
