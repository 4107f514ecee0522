// SPDX-License-Identifier: MIT
#pragma once

// IRN's training samples (Ahn, Cho & Kwak, CVPR 2019; the public code's VOC12AffinityDataset and
// train_irn.py): an image and its confident-region label map (`labels --mode irn`, 255 = unsure)
// are rescaled by a random ratio in (0.5, 1.5), flipped, normalised and cropped to 512 (image
// padded with 0, labels with 255, the crop placed at random inside the canvas when the image is
// smaller); the cropped labels are reduced to a quarter by the nearest rule, and the pair labels
// (background pairs, foreground pairs, pairs across classes) of IRN's path index at radius 10
// come from core's affinity_labels.
//
// Where this differs from the public code: the image is rescaled bilinearly (half-pixel centres,
// no antialiasing, as train-seg's augmentation) where IRN uses PIL's bicubic; the labels use the
// same nearest rule as PIL. Unlike train-seg's crop (padded right and bottom), IRN's crop places
// a smaller image at a random offset inside the canvas, and its flip happens before the crop.
//
// The augmentation has no libtorch (worker threads prepare batches); make_irn_batch stacks the
// samples of a BatchPlan into tensors.

#include <torch/types.h>

#include <cstdint>
#include <string>
#include <vector>

#include "pseudomask/core/common/image.h"
#include "pseudomask/core/irn/path_index.h"
#include "pseudomask/nn/train/augment.h"
#include "pseudomask/nn/train/loop.h"

namespace pm::nn {

/// Options of augment_irn_sample (IRN's defaults).
struct IrnAugmentOptions {
  double scale_min = 0.5;  ///< rescale ratio drawn uniformly in [scale_min, scale_max)
  double scale_max = 1.5;
  int crop = 512;    ///< square crop side, a multiple of 4 (the labels are reduced to crop / 4)
  bool flip = true;  ///< horizontal flip with probability 1/2
  int radius = 10;   ///< path radius of the pair labels at stride 4 (IRN: 10)
  /// Throws pm::Error naming the offending field.
  void validate() const;
  /// Side of the reduced label map and of the path index: crop / 4.
  int label_side() const { return crop / 4; }
};

/// Where a crop takes its pixels (IRN's get_random_crop_box): the crop×crop canvas at
/// (canvas_x, canvas_y) receives the image's width×height pixels from (image_x, image_y). On a
/// side longer than the crop the image offset is random and the canvas offset 0; on a shorter one
/// the canvas offset is random and the image offset 0.
struct IrnCropBox {
  int canvas_x = 0, canvas_y = 0;
  int image_x = 0, image_y = 0;
  int width = 0, height = 0;
};

/// Draws the crop box of a w×h image (x first, then y, as IRN draws them).
IrnCropBox irn_crop_box(int w, int h, int crop, Rng& rng);

/// Augments one sample: rescale (one ratio for image and labels), flip, ImageNet normalisation,
/// crop. Writes the (3, crop, crop) image planes to `image_out` (0 outside the image) and
/// returns the crop×crop labels (255 outside the image). Randomness from `rng` in IRN's order:
/// ratio, flip, crop x, crop y.
LabelMap augment_irn_sample(const RgbImage& image,
                            const LabelMap& labels,
                            const IrnAugmentOptions& options,
                            Rng& rng,
                            float* image_out);

/// IRN's label reduction to stride 4 (PIL nearest resize to round(w/4)×round(h/4), half to even
/// as numpy rounds): pixel (x, y) takes the label at ⌊(x + 0.5)·w / w'⌋, ⌊(y + 0.5)·h / h'⌋.
LabelMap reduce_irn_labels(const LabelMap& labels);

/// A training image and its IR label PNG (`labels --mode irn`).
struct IrnTrainSample {
  std::string id;
  std::string image_path;
  std::string label_path;
};

/// Reads a sample's image and labels; throws pm::Error naming the label file when its size
/// differs from the image or a label is neither < num_classes nor 255.
struct IrnSampleData {
  RgbImage image;
  LabelMap labels;
};
IrnSampleData load_irn_sample(const IrnTrainSample& sample, int num_classes);

/// A batch for IrnNet: images (N, 3, crop, crop) float, and the pair labels (N, D, S) as uint8
/// 0/1 in the path index's (direction, source) order (converted to float on the device).
struct IrnBatch {
  torch::Tensor images;
  torch::Tensor bg_pos, fg_pos, neg;
};

/// Loads and augments the samples of `plan` on `workers` threads; sample i of the batch draws
/// from Rng::from(seed ^ stream, step, i), so a batch depends only on the plan and the seed.
IrnBatch make_irn_batch(const std::vector<IrnTrainSample>& samples,
                        const BatchPlan& plan,
                        const IrnAugmentOptions& options,
                        const PathIndex& index,
                        uint64_t seed,
                        int workers,
                        int num_classes);

}  // namespace pm::nn
