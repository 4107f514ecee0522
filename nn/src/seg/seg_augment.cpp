// SPDX-License-Identifier: MIT
#include "pseudomask/nn/seg/seg_augment.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cmath>

#include "pseudomask/core/common/error.h"
#include "pseudomask/core/common/resize.h"

namespace pm::nn {
namespace {

/// Nearest-neighbour resize of per-pixel weights (the same source pixel as resize_nearest).
std::vector<float> resize_weights_nearest(
    const std::vector<float>& w, int in_w, int in_h, int out_w, int out_h) {
  std::vector<float> out(static_cast<size_t>(out_w) * out_h);
  for (int y = 0; y < out_h; ++y) {
    const int sy = std::min(in_h - 1, static_cast<int>((y + 0.5) * in_h / out_h));
    for (int x = 0; x < out_w; ++x) {
      const int sx = std::min(in_w - 1, static_cast<int>((x + 0.5) * in_w / out_w));
      out[static_cast<size_t>(y) * out_w + x] = w[static_cast<size_t>(sy) * in_w + sx];
    }
  }
  return out;
}

}  // namespace

RescaleBase parse_rescale_base(const std::string& text, const std::string& field) {
  if (text == "original")
    return {};
  const size_t x = text.find('x');
  int a = 0, b = 0;
  size_t used_a = 0, used_b = 0;
  try {
    if (x != std::string::npos && x > 0 && x + 1 < text.size()) {
      a = std::stoi(text.substr(0, x), &used_a);
      b = std::stoi(text.substr(x + 1), &used_b);
    }
  } catch (const std::exception&) {
    used_a = 0;
  }
  PM_CHECK(used_a == x && x + 1 + used_b == text.size() && a > 0 && b > 0,
           "{} '{}': expected 'original' or a scale WxH of positive sides (e.g. 2048x512)",
           field,
           text);
  return {std::max(a, b), std::min(a, b)};
}

std::string rescale_base_name(const RescaleBase& base) {
  return base.fixed() ? fmt::format("{}x{}", base.long_side, base.short_side) : "original";
}

RescaleBase downsampled_base(const RescaleBase& base, int factor) {
  if (!base.fixed() || factor <= 1)
    return base;
  return {std::max(1, base.long_side / factor), std::max(1, base.short_side / factor)};
}

std::pair<int, int> rescaled_size(int w, int h, double ratio, const RescaleBase& base) {
  if (!base.fixed()) {
    return {std::max(1, static_cast<int>(std::lround(w * ratio))),
            std::max(1, static_cast<int>(std::lround(h * ratio)))};
  }
  // mmseg: scale = (int(2048 r), int(512 r)); mmcv imrescale: factor = min(long edge / long
  // side, short edge / short side); new size = int(x · factor + 0.5).
  const double long_edge = std::floor(base.long_side * ratio);
  const double short_edge = std::floor(base.short_side * ratio);
  const double f = std::min(long_edge / std::max(w, h), short_edge / std::min(w, h));
  return {std::max(1, static_cast<int>(w * f + 0.5)), std::max(1, static_cast<int>(h * f + 0.5))};
}

bool crop_is_mixed(const LabelMap& labels, int x0, int y0, int crop, double cat_max_ratio) {
  std::array<int64_t, 256> count{};
  const int x1 = std::min(labels.width, x0 + crop), y1 = std::min(labels.height, y0 + crop);
  for (int y = y0; y < y1; ++y)
    for (int x = x0; x < x1; ++x)
      ++count[labels.labels[static_cast<size_t>(y) * labels.width + x]];
  count[kIgnoreLabel] = 0;
  int64_t total = 0, most = 0, kinds = 0;
  for (int64_t c : count) {
    total += c;
    most = std::max(most, c);
    kinds += c > 0 ? 1 : 0;
  }
  return kinds > 1 && static_cast<double>(most) / static_cast<double>(total) < cat_max_ratio;
}

void SegAugmentOptions::validate() const {
  PM_CHECK(scale_min > 0 && scale_max >= scale_min,
           "SegAugmentOptions::scale_min/max {},{}: needs 0 < min <= max",
           scale_min,
           scale_max);
  PM_CHECK(cat_max_ratio > 0 && cat_max_ratio <= 1,
           "SegAugmentOptions::cat_max_ratio {}: must be in (0, 1]",
           cat_max_ratio);
  PM_CHECK(crop >= 8, "SegAugmentOptions::crop {}: must be at least 8", crop);
}

void augment_seg_sample(const SegSampleData& s,
                        const SegAugmentOptions& o,
                        int crop,
                        Rng& rng,
                        const SegSampleOut& out) {
  PM_CHECK(s.labels.width == s.image.width && s.labels.height == s.image.height,
           "labels {}x{} do not match the image {}x{}",
           s.labels.width,
           s.labels.height,
           s.image.width,
           s.image.height);
  const bool weighted = !s.weights.empty();
  // Random rescale: image bilinear, labels and weights nearest (no invented labels).
  const double scale = rng.uniform(o.scale_min, o.scale_max);
  const auto [w, h] = rescaled_size(s.image.width, s.image.height, scale, o.scale_base);
  const RgbImage img = resize_bilinear(s.image, w, h);
  const LabelMap lab = resize_nearest(s.labels, w, h);
  const std::vector<float> wts =
      weighted ? resize_weights_nearest(s.weights, s.image.width, s.image.height, w, h)
               : std::vector<float>();
  // Random crop offsets (a smaller side is padded on the right/bottom); with cat_max_ratio < 1,
  // mmseg's retries: up to 10 tests, each failing one draws a new crop.
  int x0 = static_cast<int>(rng.integer(0, std::max(0, w - crop)));
  int y0 = static_cast<int>(rng.integer(0, std::max(0, h - crop)));
  if (o.cat_max_ratio < 1) {
    for (int attempt = 0; attempt < 10 && !crop_is_mixed(lab, x0, y0, crop, o.cat_max_ratio);
         ++attempt) {
      x0 = static_cast<int>(rng.integer(0, std::max(0, w - crop)));
      y0 = static_cast<int>(rng.integer(0, std::max(0, h - crop)));
    }
  }
  const bool flip = o.flip && rng.uniform() < 0.5;
  const int cw = std::min(crop, w), ch = std::min(crop, h);
  std::vector<float> rgb(static_cast<size_t>(cw) * ch * 3);
  for (int y = 0; y < ch; ++y)
    for (int x = 0; x < cw; ++x)
      for (int c = 0; c < 3; ++c)
        rgb[(static_cast<size_t>(y) * cw + x) * 3 + c] =
            img.pixels[(static_cast<size_t>(y0 + y) * w + x0 + x) * 3 + c] / 255.0f;
  color_jitter(rgb, o.jitter, rng);
  const size_t plane = static_cast<size_t>(crop) * crop;
  std::fill(out.image, out.image + 3 * plane, 0.0f);
  std::fill(out.labels, out.labels + plane, static_cast<int64_t>(kIgnoreLabel));
  std::fill(out.weights, out.weights + plane, 0.0f);
  for (int y = 0; y < ch; ++y) {
    for (int x = 0; x < cw; ++x) {
      const int dx = flip ? cw - 1 - x : x;
      const size_t o_idx = static_cast<size_t>(y) * crop + dx;
      const size_t src = static_cast<size_t>(y0 + y) * w + x0 + x;
      for (int c = 0; c < 3; ++c)
        out.image[c * plane + o_idx] =
            (rgb[(static_cast<size_t>(y) * cw + x) * 3 + c] - kImageNetMean[c]) / kImageNetStd[c];
      out.labels[o_idx] = lab.labels[src];
      out.weights[o_idx] = weighted ? wts[src] : 1.0f;
    }
  }
}

}  // namespace pm::nn
