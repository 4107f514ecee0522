// SPDX-License-Identifier: MIT
#pragma once

// The segmentation training pipeline of mmsegmentation / DeepLab: random rescale (0.5-2.0),
// random crop with padding (image 0 after normalisation, label 255, weight 0), horizontal flip,
// photometric distortion and ImageNet normalisation, applied identically to the image, its
// pseudo-mask and its per-pixel loss weights. No libtorch, so worker threads prepare batches.

#include <string>
#include <utility>
#include <vector>

#include "pseudomask/core/common/image.h"
#include "pseudomask/nn/train/augment.h"

namespace pm::nn {

/// What a rescale ratio r is a ratio of.
struct RescaleBase {
  /// 0: of the original size, (w·r, h·r). > 0: mmseg's ratio of a fixed scale (long_side,
  /// short_side), e.g. (2048, 512): the image keeps its aspect ratio and is rescaled by
  /// min(⌊long_side·r⌋ / long(w, h), ⌊short_side·r⌋ / short(w, h)) (mmseg Resize with
  /// ratio_range / MultiScaleFlipAug with img_ratios, mmcv imrescale): a 500×375 VOC image at
  /// r = 1 becomes 683×512.
  int long_side = 0;
  int short_side = 0;
  bool fixed() const { return long_side > 0; }
};

/// "original" or "LxS" (e.g. "2048x512", either order) → the base; throws pm::Error naming
/// `field` and the value.
RescaleBase parse_rescale_base(const std::string& text, const std::string& field);
/// The base as parse_rescale_base reads it ("original" or "2048x512").
std::string rescale_base_name(const RescaleBase& base);

/// `base` for images downsampled by `factor` (ORANDNet's scale scheduling): a fixed scale
/// shrinks by the same factor (each side at least 1), so that the schedule's small images stay
/// small; the original-size base is returned as is.
RescaleBase downsampled_base(const RescaleBase& base, int factor);

/// The (width, height) of a w×h image rescaled by ratio r under `base`, each side at least 1
/// (rounded half up, as mmcv's rescale_size: int(x·f + 0.5)).
std::pair<int, int> rescaled_size(int w, int h, double ratio, const RescaleBase& base);

/// Options of augment_seg_sample.
struct SegAugmentOptions {
  double scale_min = 0.5;  ///< the image is rescaled by a uniform draw in [scale_min, scale_max]
  double scale_max = 2.0;
  RescaleBase scale_base;  ///< what the ratio is a ratio of (default: the original size)
  /// mmseg RandomCrop's cat_max_ratio: up to 10 crops are drawn until one whose most frequent
  /// label (255 not counted) covers less than this share and that holds at least two labels;
  /// else the 11th draw is taken. 1 = off (one draw). URN/mmseg: 0.75.
  double cat_max_ratio = 1.0;
  int crop = 321;    ///< square crop side; smaller images are padded
  bool flip = true;  ///< horizontal flip with probability 1/2
  /// Photometric distortion (brightness, contrast, saturation, hue; all zero = off).
  ColorJitter jitter{0.125f, 0.5f, 0.5f, 0.05f};
  /// Throws pm::Error naming the offending field.
  void validate() const;
};

/// One training sample: an image, its labels and (optionally) per-pixel loss weights.
struct SegSampleData {
  RgbImage image;
  LabelMap labels;
  std::vector<float> weights;  ///< one per pixel, or empty (all 1)
};

/// Output buffers of one augmented sample, crop·crop pixels each.
struct SegSampleOut {
  float* image = nullptr;     ///< (3, crop, crop) ImageNet-normalised planes
  int64_t* labels = nullptr;  ///< (crop, crop) labels, 255 = ignore
  float* weights = nullptr;   ///< (crop, crop) loss weights
};

/// Whether the crop×crop window at (x0, y0) of `labels` passes mmseg's cat_max_ratio test: at
/// least two labels other than 255, the most frequent below `cat_max_ratio` of them.
bool crop_is_mixed(const LabelMap& labels, int x0, int y0, int crop, double cat_max_ratio);

/// Augments one sample with `crop` as the output side (the options' crop is ignored so the
/// scale schedule can shrink it). All randomness comes from `rng` in a fixed order.
void augment_seg_sample(const SegSampleData& sample,
                        const SegAugmentOptions& options,
                        int crop,
                        Rng& rng,
                        const SegSampleOut& out);

}  // namespace pm::nn
