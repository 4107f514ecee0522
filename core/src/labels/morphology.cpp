// SPDX-License-Identifier: MIT
#include "pseudomask/core/labels/morphology.h"

#include <algorithm>

#include "pseudomask/core/common/error.h"

namespace pm {
namespace {

bool is_foreground(uint8_t v) {
  return v != 0 && v != kIgnoreLabel;
}

// Calls visit(value) for every pixel of the window around (x, y), clipped to the image;
// stops early when visit returns false.
template <class Visit>
void for_window(const LabelMap& m, int x, int y, int r, Visit visit) {
  const int y0 = std::max(0, y - r), y1 = std::min(m.height - 1, y + r);
  const int x0 = std::max(0, x - r), x1 = std::min(m.width - 1, x + r);
  for (int yy = y0; yy <= y1; ++yy) {
    for (int xx = x0; xx <= x1; ++xx) {
      if (!visit(m.at(xx, yy)))
        return;
    }
  }
}

}  // namespace

LabelMap replace_label(const LabelMap& labels, uint8_t from, uint8_t to) {
  LabelMap out = labels;
  std::replace(out.labels.begin(), out.labels.end(), from, to);
  return out;
}

LabelMap dilate_foreground(const LabelMap& labels, int radius) {
  PM_CHECK(radius >= 0, "dilation radius must be >= 0, got {}", radius);
  LabelMap out = labels;
  for (int y = 0; y < labels.height; ++y) {
    for (int x = 0; x < labels.width; ++x) {
      if (labels.at(x, y) != 0)
        continue;
      uint8_t best = kIgnoreLabel;
      for_window(labels, x, y, radius, [&](uint8_t v) {
        if (is_foreground(v))
          best = std::min(best, v);
        return true;
      });
      if (best != kIgnoreLabel)
        out.at(x, y) = best;
    }
  }
  return out;
}

LabelMap erode_foreground(const LabelMap& labels, int radius) {
  PM_CHECK(radius >= 0, "erosion radius must be >= 0, got {}", radius);
  LabelMap out = labels;
  for (int y = 0; y < labels.height; ++y) {
    for (int x = 0; x < labels.width; ++x) {
      const uint8_t self = labels.at(x, y);
      if (!is_foreground(self))
        continue;
      bool keep = true;
      for_window(labels, x, y, radius, [&](uint8_t v) { return keep = (v == self); });
      if (!keep)
        out.at(x, y) = 0;
    }
  }
  return out;
}

}  // namespace pm
