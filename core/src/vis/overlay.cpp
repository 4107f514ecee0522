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
std::vector<float> channel_at_size(const NDArray& maps, int64_t k, int width, int height) {
  const int64_t h = maps.dim(1), w = maps.dim(2);
  const float* src = maps.data<float>() + k * h * w;
  if (h == height && w == width)
    return std::vector<float>(src, src + h * w);
  NDArray one(DType::kF32, {1, h, w});
  std::copy(src, src + h * w, one.data<float>());
  const NDArray big = resize_planes_bilinear(one, height, width);
  return std::vector<float>(big.data<float>(), big.data<float>() + big.numel());
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

RgbImage heatmap(const float* values, int width, int height) {
  PM_CHECK(width > 0 && height > 0, "heatmap: empty map {}x{}", width, height);
  RgbImage out(width, height);
  for (size_t i = 0; i < out.num_pixels(); ++i) {
    const auto colour = jet(values[i]);
    std::copy(colour.begin(), colour.end(), out.pixels.begin() + i * 3);
  }
  return out;
}

RgbImage blend_heatmap(const RgbImage& image, const float* values, int alpha) {
  check_alpha(alpha);
  const RgbImage heat = heatmap(values, image.width, image.height);
  RgbImage out(image.width, image.height);
  for (size_t i = 0; i < out.pixels.size(); ++i)
    out.pixels[i] = mix(image.pixels[i], heat.pixels[i], alpha);
  return out;
}

std::vector<RgbImage> cam_panels(const RgbImage& image, const CamFile& cams) {
  const NDArray& maps = cams.high_res.empty() ? cams.cam : cams.high_res;
  PM_CHECK(maps.ndim() == 3 && static_cast<size_t>(maps.dim(0)) == cams.keys.size(),
           "CAM maps of shape {} for {} keys",
           shape_string(maps.shape()),
           cams.keys.size());
  PM_CHECK(maps.dim(1) > 0 && maps.dim(2) > 0, "CAM maps are empty ({})", maps.describe());
  const NDArray f32 = maps.astype(DType::kF32);
  std::vector<RgbImage> panels;
  for (int64_t k = 0; k < maps.dim(0); ++k) {
    const std::vector<float> map = channel_at_size(f32, k, image.width, image.height);
    panels.push_back(blend_heatmap(image, map.data()));
  }
  return panels;
}

RgbImage uncertainty_panel(const LabelMap& weights) {
  std::vector<float> u(weights.num_pixels());
  for (size_t i = 0; i < u.size(); ++i)
    u[i] = static_cast<float>(255 - weights.labels[i]) / 255.0f;
  return heatmap(u.data(), weights.width, weights.height);
}

}  // namespace pm
