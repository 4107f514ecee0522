// SPDX-License-Identifier: MIT
#pragma once

// ORANDNet's scale scheduling: the segmentation model first trains on downsampled image /
// pseudo-mask pairs and moves to full size as training goes on ("downsampling by factors of 8, 4
// and 2 for the initial 2, 4 and 6 epochs", read as cumulative epoch boundaries). No libtorch.

#include <string>
#include <vector>

#include "pseudomask/core/common/image.h"

namespace pm::nn {

/// One stage of a scale schedule: downsample by `factor` while epoch < `until_epoch`.
struct ScaleStage {
  int factor = 1;
  int until_epoch = 0;
};

/// Parses "8:2,4:4,2:6" (factor 8 until epoch 2, 4 until epoch 4, 2 until epoch 6, then full
/// size); "" gives an empty schedule (always full size). Throws pm::Error naming `field` when an
/// entry is not FACTOR:EPOCH, a factor is < 1, or the epochs do not strictly increase.
std::vector<ScaleStage> parse_scale_schedule(
    const std::string& spec, const std::string& field = "TrainSegOptions::scale_schedule");

/// The downsample factor at 0-based `epoch` (1 after the last stage).
int scale_factor_at(const std::vector<ScaleStage>& schedule, int epoch);

/// How pseudo-masks are downsampled: both only ever output labels present in the source.
enum class LabelDownsample {
  kNearest,  ///< the pixel at each output pixel's centre
  kMajority,  ///< the most frequent non-ignore label of the block (lowest wins ties; all 255 → 255)
};

/// Parses "nearest" or "majority"; throws naming `field` otherwise.
LabelDownsample parse_label_downsample(
    const std::string& name, const std::string& field = "TrainSegOptions::label_downsample");

/// The side of a downsampled extent: round(side / factor), at least 1.
int downsampled_side(int side, int factor);

/// Downsamples a label map by `factor` to downsampled_side() of each side.
LabelMap downsample_labels(const LabelMap& labels, int factor, LabelDownsample mode);

/// Downsamples an image by `factor` (bilinear, half-pixel centres).
RgbImage downsample_image(const RgbImage& image, int factor);

}  // namespace pm::nn
