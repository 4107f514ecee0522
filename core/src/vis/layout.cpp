// SPDX-License-Identifier: MIT
#include "pseudomask/core/vis/layout.h"

#include <algorithm>

#include "pseudomask/core/common/error.h"
#include "pseudomask/core/vis/overlay.h"

namespace pm {
namespace {

RgbImage filled(int width, int height, std::array<uint8_t, 3> fill) {
  RgbImage out(width, height);
  for (size_t i = 0; i < out.num_pixels(); ++i)
    std::copy(fill.begin(), fill.end(), out.pixels.begin() + i * 3);
  return out;
}

/// Copies `src` into `dst` with its top-left corner at (x, y).
void blit(RgbImage& dst, const RgbImage& src, int x, int y) {
  for (int row = 0; row < src.height; ++row) {
    const auto from = src.pixels.begin() + static_cast<size_t>(row) * src.width * 3;
    std::copy(from,
              from + static_cast<size_t>(src.width) * 3,
              dst.pixels.begin() + (static_cast<size_t>(y + row) * dst.width + x) * 3);
  }
}

void check_gap(int gap) {
  PM_CHECK(gap >= 0 && gap <= 256, "gap {}: expected 0 to 256", gap);
}

}  // namespace

RgbImage hstack(const std::vector<RgbImage>& panels, int gap, std::array<uint8_t, 3> fill) {
  PM_CHECK(!panels.empty(), "hstack: no panels");
  check_gap(gap);
  int width = gap * (static_cast<int>(panels.size()) - 1), height = 0;
  for (const RgbImage& p : panels) {
    width += p.width;
    height = std::max(height, p.height);
  }
  RgbImage out = filled(width, height, fill);
  int x = 0;
  for (const RgbImage& p : panels) {
    blit(out, p, x, 0);
    x += p.width + gap;
  }
  return out;
}

RgbImage grid(const std::vector<RgbImage>& cells,
              int columns,
              int gap,
              std::array<uint8_t, 3> fill) {
  PM_CHECK(!cells.empty(), "grid: no cells");
  PM_CHECK(columns >= 1, "grid: {} columns, expected at least 1", columns);
  check_gap(gap);
  int cell_w = 0, cell_h = 0;
  for (const RgbImage& c : cells) {
    cell_w = std::max(cell_w, c.width);
    cell_h = std::max(cell_h, c.height);
  }
  const int n = static_cast<int>(cells.size());
  const int cols = std::min(columns, n), rows = (n + columns - 1) / columns;
  RgbImage out = filled(cols * cell_w + (cols + 1) * gap, rows * cell_h + (rows + 1) * gap, fill);
  for (int i = 0; i < n; ++i) {
    blit(out,
         cells[static_cast<size_t>(i)],
         gap + (i % columns) * (cell_w + gap),
         gap + (i / columns) * (cell_h + gap));
  }
  return out;
}

RgbImage contact_sheet(const std::vector<RgbImage>& images,
                       const std::vector<LabelMap>& masks,
                       int columns) {
  PM_CHECK(images.size() == masks.size(),
           "contact_sheet: {} images but {} masks",
           images.size(),
           masks.size());
  std::vector<RgbImage> strips;
  for (size_t i = 0; i < images.size(); ++i) {
    strips.push_back(
        hstack({images[i], colorize_labels(masks[i]), blend_labels(images[i], masks[i])}));
  }
  return grid(strips, columns);
}

}  // namespace pm
