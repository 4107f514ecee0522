// SPDX-License-Identifier: MIT
#include "pseudomask/core/common/planes.h"

#include <algorithm>
#include <cstddef>

#include "pseudomask/core/common/error.h"

namespace pm {
namespace {

/// The (W+1)×(H+1) summed-area table of a plane: entry (x, y) is the sum over [0, x) × [0, y).
std::vector<double> integral_image(const std::vector<float>& plane, int w, int h) {
  const size_t stride = static_cast<size_t>(w) + 1;
  std::vector<double> integral(stride * (static_cast<size_t>(h) + 1), 0.0);
  for (int y = 0; y < h; ++y) {
    for (int x = 0; x < w; ++x) {
      integral[(y + 1) * stride + x + 1] =
          plane[static_cast<size_t>(y) * w + x] + integral[y * stride + x + 1] +
          integral[(y + 1) * stride + x] - integral[y * stride + x];
    }
  }
  return integral;
}

}  // namespace

std::vector<float> box_blur(const std::vector<float>& plane, int w, int h, int r) {
  PM_CHECK(w >= 0 && h >= 0 && plane.size() == static_cast<size_t>(w) * h,
           "box_blur: a {}x{} plane needs {} values, got {}",
           w,
           h,
           static_cast<size_t>(std::max(w, 0)) * std::max(h, 0),
           plane.size());
  PM_CHECK(r >= 0, "box_blur: radius {} is negative", r);
  const std::vector<double> integral = integral_image(plane, w, h);
  const size_t stride = static_cast<size_t>(w) + 1;
  auto at = [&](int x, int y) { return integral[static_cast<size_t>(y) * stride + x]; };
  std::vector<float> out(plane.size());
  for (int y = 0; y < h; ++y) {
    for (int x = 0; x < w; ++x) {
      const int x0 = std::max(0, x - r), x1 = std::min(w, x + r + 1);
      const int y0 = std::max(0, y - r), y1 = std::min(h, y + r + 1);
      const double sum = at(x1, y1) - at(x0, y1) - at(x1, y0) + at(x0, y0);
      out[static_cast<size_t>(y) * w + x] = static_cast<float>(sum / ((x1 - x0) * (y1 - y0)));
    }
  }
  return out;
}

LabelMap argmax_labels(const float* planes, int labels, int width, int height) {
  PM_CHECK(labels >= 1 && labels <= 256, "argmax_labels: {} planes, expected 1 to 256", labels);
  LabelMap out(width, height);
  const size_t n = out.num_pixels();
  for (size_t p = 0; p < n; ++p) {
    int best = 0;
    for (int l = 1; l < labels; ++l) {
      if (planes[static_cast<size_t>(l) * n + p] > planes[static_cast<size_t>(best) * n + p])
        best = l;
    }
    out.labels[p] = static_cast<uint8_t>(best);
  }
  return out;
}

}  // namespace pm
