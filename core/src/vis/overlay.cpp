// SPDX-License-Identifier: MIT
#include "pseudomask/core/vis/overlay.h"

#include <algorithm>
#include <cmath>

#include "pseudomask/core/common/error.h"
#include "pseudomask/core/common/resize.h"

namespace pm {
namespace {

void check_alpha(int alpha) {
  PM_CHECK(alpha >= 0 && alpha <= 255, "overlay alpha {}: expected 0 to 255", alpha);
}

uint8_t mix(int under, int over, int alpha) {
  return static_cast<uint8_t>((under * (255 - alpha) + over * alpha + 127) / 255);
}

/// One jet channel: clip(1.5 − |4v − k|, 0, 1) · 255, rounded.
uint8_t jet_channel(float v4, float k) {
  const float x = std::min(1.0f, std::max(0.0f, 1.5f - std::fabs(v4 - k)));
  return static_cast<uint8_t>(x * 255.0f + 0.5f);
}

/// A (H, W) map of channel k of a (K, h, w) array, resized to width × height when needed.
Planes channel_at_size(const Planes& maps, int k, int width, int height) {
  Planes one = select_planes(maps, {k});
  if (maps.height() == height && maps.width() == width)
    return one;
  return resize_planes_bilinear(one, height, width);
}

void check_one_plane(const Planes& values, const char* what) {
  PM_CHECK(values.channels() == 1 && values.width() > 0 && values.height() > 0,
           "{}: map is {}, expected (1, H, W) with H, W > 0",
           what,
           values.describe());
}

}  // namespace

RgbImage blend_labels(const RgbImage& image,
                      const LabelMap& labels,
                      int alpha,
                      const Palette& palette) {
  check_alpha(alpha);
  PM_CHECK(image.width == labels.width && image.height == labels.height,
           "blend_labels: label map is {}x{}, image is {}x{}",
           labels.width,
           labels.height,
           image.width,
           image.height);
  RgbImage out(image.width, image.height);
  for (size_t i = 0; i < image.num_pixels(); ++i) {
    const auto& colour = palette[labels.labels[i]];
    for (size_t c = 0; c < 3; ++c)
      out.pixels[i * 3 + c] = mix(image.pixels[i * 3 + c], colour[c], alpha);
  }
  return out;
}

RgbImage colorize_labels(const LabelMap& labels, const Palette& palette) {
  RgbImage out(labels.width, labels.height);
  for (size_t i = 0; i < labels.num_pixels(); ++i) {
    const auto& colour = palette[labels.labels[i]];
    std::copy(colour.begin(), colour.end(), out.pixels.begin() + i * 3);
  }
  return out;
}

std::array<uint8_t, 3> jet(float v) {
  if (!(v >= 0.0f))  // NaN and negatives
    v = 0.0f;
  v = std::min(v, 1.0f);
  const float v4 = 4.0f * v;
  return {jet_channel(v4, 3.0f), jet_channel(v4, 2.0f), jet_channel(v4, 1.0f)};
}

RgbImage heatmap(const Planes& values) {
  check_one_plane(values, "heatmap");
  RgbImage out(values.width(), values.height());
  for (size_t i = 0; i < out.num_pixels(); ++i) {
    const auto colour = jet(values.data()[i]);
    std::copy(colour.begin(), colour.end(), out.pixels.begin() + i * 3);
  }
  return out;
}

RgbImage blend_heatmap(const RgbImage& image, const Planes& values, int alpha) {
  check_alpha(alpha);
  check_one_plane(values, "blend_heatmap");
  PM_CHECK(values.width() == image.width && values.height() == image.height,
           "blend_heatmap: map is {}, image is {}x{}",
           values.describe(),
           image.width,
           image.height);
  const RgbImage heat = heatmap(values);
  RgbImage out(image.width, image.height);
  for (size_t i = 0; i < out.pixels.size(); ++i)
    out.pixels[i] = mix(image.pixels[i], heat.pixels[i], alpha);
  return out;
}

std::vector<RgbImage> cam_panels(const RgbImage& image, const CamFile& cams) {
  const Planes& maps = cams.high_res.empty() ? cams.cam : cams.high_res;
  PM_CHECK(static_cast<size_t>(maps.channels()) == cams.keys.size(),
           "CAM maps of shape {} for {} keys",
           maps.describe(),
           cams.keys.size());
  PM_CHECK(maps.height() > 0 && maps.width() > 0, "CAM maps are empty ({})", maps.describe());
  std::vector<RgbImage> panels;
  for (int k = 0; k < maps.channels(); ++k)
    panels.push_back(blend_heatmap(image, channel_at_size(maps, k, image.width, image.height)));
  return panels;
}

Planes uncertainty_map(const WeightMap& weights) {
  Planes u(1, weights.height, weights.width);
  for (size_t i = 0; i < u.size(); ++i)
    u.data()[i] = static_cast<float>(255 - weights.bytes[i]) / 255.0f;
  return u;
}

RgbImage uncertainty_panel(const WeightMap& weights) {
  return heatmap(uncertainty_map(weights));
}

}  // namespace pm
