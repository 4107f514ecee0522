// SPDX-License-Identifier: MIT
#pragma once

// The segmentation training pipeline of mmsegmentation / DeepLab: random rescale (0.5-2.0),
// random crop with padding (image 0 after normalisation, label 255, weight 0), horizontal flip,
// photometric distortion and ImageNet normalisation, applied identically to the image, its
// pseudo-mask and its per-pixel loss weights. No libtorch, so worker threads prepare batches.

#include <vector>

#include "pseudomask/core/common/image.h"
#include "pseudomask/nn/train/augment.h"

namespace pm::nn {

/// Options of augment_seg_sample.
struct SegAugmentOptions {
  double scale_min = 0.5;  ///< the image is rescaled by a uniform draw in [scale_min, scale_max]
  double scale_max = 2.0;
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

/// Augments one sample with `crop` as the output side (the options' crop is ignored so the
/// scale schedule can shrink it). All randomness comes from `rng` in a fixed order.
void augment_seg_sample(const SegSampleData& sample,
                        const SegAugmentOptions& options,
                        int crop,
                        Rng& rng,
                        const SegSampleOut& out);

}  // namespace pm::nn
