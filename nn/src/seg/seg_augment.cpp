// SPDX-License-Identifier: MIT
#include "pseudomask/nn/seg/seg_augment.h"

#include <algorithm>
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

void SegAugmentOptions::validate() const {
  PM_CHECK(scale_min > 0 && scale_max >= scale_min,
           "SegAugmentOptions::scale_min/max {},{}: needs 0 < min <= max",
           scale_min,
           scale_max);
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
  const int w = std::max(1, static_cast<int>(std::lround(s.image.width * scale)));
  const int h = std::max(1, static_cast<int>(std::lround(s.image.height * scale)));
  const RgbImage img = resize_bilinear(s.image, w, h);
  const LabelMap lab = resize_nearest(s.labels, w, h);
  const std::vector<float> wts =
      weighted ? resize_weights_nearest(s.weights, s.image.width, s.image.height, w, h)
               : std::vector<float>();
  // Random crop offsets (a smaller side is padded on the right/bottom).
  const int x0 = static_cast<int>(rng.integer(0, std::max(0, w - crop)));
  const int y0 = static_cast<int>(rng.integer(0, std::max(0, h - crop)));
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
