// SPDX-License-Identifier: MIT
#pragma once

// Inference of a segmentation model: class probabilities averaged over scales and flips, with a
// sliding window for large images (the URN/mmseg test pipeline), and loading a trained model.

#include <torch/types.h>

#include <string>
#include <vector>

#include "pseudomask/core/common/image.h"
#include "pseudomask/nn/seg/seg_augment.h"
#include "pseudomask/nn/seg/seg_model.h"

namespace pm::nn {

/// Test-time options.
struct PredictOptions {
  std::vector<double> scales{1.0};  ///< image rescale ratios, probabilities averaged
  /// What the ratios are ratios of: the original size (default) or mmseg's fixed scale
  /// (URN's test: ratios 0.5..1.75 of 2048×512).
  RescaleBase scale_base;
  bool flip = false;  ///< also the horizontally flipped image
  /// Sliding window side (0 = whole image); windows overlap by `window - stride`, and their
  /// logits are averaged where they overlap (mmseg's slide mode).
  int window = 0;
  int stride = 0;  ///< 0 = 2/3 of the window
  /// Throws pm::Error naming the offending flag.
  void validate() const;
};

/// Softmax probabilities (C, H, W) float32 on the CPU at the image's size: the mean over every
/// scale (and its flip) of softmax(logits upsampled to the image size). `model` must be in eval
/// mode on `device`.
torch::Tensor predict_probabilities(SegModel& model,
                                    const RgbImage& image,
                                    const PredictOptions& options,
                                    const torch::Device& device);

/// Per-pixel argmax of (C, H, W) probabilities (lowest class wins ties).
LabelMap argmax_labels(const torch::Tensor& probs);

/// Rebuilds a trained model from model.pth / best.pth / last.pth (architecture and class count
/// from its metadata) on `device`, in eval mode. Throws naming the file if it is not one of ours.
SegModel load_seg_model(const std::string& path, const std::string& device = "cpu");

/// Checkpoint metadata keys of a segmentation model.
namespace seg_meta {
constexpr const char* kFormat = "format";  ///< "pseudomask-segmenter"
constexpr const char* kFormatName = "pseudomask-segmenter";
constexpr const char* kArch = "arch";
constexpr const char* kNumClasses = "num_classes";
constexpr const char* kStep = "step";
constexpr const char* kTotalSteps = "total_steps";
constexpr const char* kSeed = "seed";
constexpr const char* kBestMiou = "best_miou";
}  // namespace seg_meta

}  // namespace pm::nn
