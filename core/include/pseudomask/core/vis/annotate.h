// SPDX-License-Identifier: MIT
// Words on pictures: panel titles, class legends and colour bars (the tiny font of text.h).
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "pseudomask/core/common/image.h"
#include "pseudomask/core/vis/text.h"

namespace pm {

/// Height of the title band with_title adds at scale 1 (scale s: s times as high).
constexpr int kTitleHeight = kTextLineHeight + 3;

/// The text scale that suits a picture whose long side is `width` pixels: 1 up to 399 px, 2 up
/// to 599, then 3.
int text_scale_for(int width);

/// The panel under a white band with `title` in black, cut to the panel's width (a cut title
/// ends in '.'). The band is kTitleHeight·scale high.
RgbImage with_title(const RgbImage& panel, const std::string& title, int scale = 1);

/// A legend `width` pixels wide: for each entry a colour swatch and its name, left to right,
/// wrapping to new lines; white background. Empty entries give a 1-pixel-high white image.
RgbImage legend(const std::vector<std::pair<std::string, std::array<uint8_t, 3>>>& entries,
                int width,
                int scale = 1);

/// A horizontal jet colour bar (0 at the left, 1 at the right) `width` pixels wide with `low`
/// and `high` written under its ends and `label` between them; white background.
RgbImage jet_colour_bar(int width,
                        const std::string& low,
                        const std::string& high,
                        const std::string& label,
                        int scale = 1);

/// Images one under the other, left-aligned, `gap` white pixels between them.
RgbImage vstack(const std::vector<RgbImage>& images, int gap = 2);

}  // namespace pm
