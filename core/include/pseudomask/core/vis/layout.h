// SPDX-License-Identifier: MIT
// Putting panels together: strips, grids and contact sheets.
#pragma once

#include <array>
#include <cstdint>
#include <vector>

#include "pseudomask/core/common/image.h"

namespace pm {

/// Colour of the gaps between panels.
constexpr std::array<uint8_t, 3> kSheetBackground{255, 255, 255};

/// Panels side by side, top-aligned, `gap` pixels between them: width = Σ widths + gap·(n − 1),
/// height = the tallest panel. Uncovered pixels are `fill`. Throws if there are no panels.
RgbImage hstack(const std::vector<RgbImage>& panels,
                int gap = 2,
                std::array<uint8_t, 3> fill = kSheetBackground);

/// Cells in a grid of `columns` columns (filled row by row), each cell as large as the largest
/// cell, cells top-left aligned, `gap` pixels around and between cells:
/// width = c·cell_w + (c + 1)·gap with c = min(columns, n); height = r·cell_h + (r + 1)·gap with
/// r = ceil(n / columns).
RgbImage grid(const std::vector<RgbImage>& cells,
              int columns,
              int gap = 4,
              std::array<uint8_t, 3> fill = kSheetBackground);

/// A contact sheet of samples with their masks: for each image, a strip of the image, the mask in
/// the VOC palette and the mask blended over the image; strips in a grid of `columns` columns.
/// images[i] and masks[i] must have the same size.
RgbImage contact_sheet(const std::vector<RgbImage>& images,
                       const std::vector<LabelMap>& masks,
                       int columns);

}  // namespace pm
