// SPDX-License-Identifier: MIT
#pragma once

// Class activation maps of a CNN classifier (Zhou et al. 2016) as IRN's make_cam.py computes
// them: multi-scale with flips, ReLU, per-class max normalisation, in the IRN file layout.

#include <torch/types.h>

#include <vector>

#include "pseudomask/core/cam/cam_file.h"
#include "pseudomask/core/common/image.h"
#include "pseudomask/nn/heads/classifier.h"

namespace pm::nn {

/// Options of cnn_cam. Defaults are IRN's.
struct CnnCamOptions {
  std::vector<double> scales{1.0, 0.5, 1.5, 2.0};  ///< image scales (IRN: 1.0, 0.5, 1.5, 2.0)
  bool flip = true;                                ///< add the horizontally flipped image
  /// Added to each channel's max before dividing (IRN: 1e-5).
  double eps = 1e-5;
};

/// The CAM of class k at one input: ReLU(Σ_c W_kc · F_c(x)), the classifier's weights applied to
/// the feature map (Zhou et al. 2016, Eq. 2 / IRN). x: (N, 3, h, w) → (N, K, h/16, w/16).
torch::Tensor relu_class_maps(Classifier& model, const torch::Tensor& x);

/// IRN's multi-scale CAM of one image for the classes `keys` (0-based, ascending):
///  - for every scale s the image is resized to (round(H·s), round(W·s)) (half to even, like
///    Python's round), its maps and the flipped image's maps (flipped back) are added;
///  - `cam`: each scale's maps resized (bilinear, align_corners=False) to (⌈H/4⌉, ⌈W/4⌉), summed;
///  - `high_res`: each resized to (⌈H/16⌉·16, ⌈W/16⌉·16), summed, cropped to (H, W);
///  - each channel divided by its own max + eps.
/// The model must be in eval mode; runs on the model's device.
CamFile cnn_cam(Classifier& model,
                const RgbImage& image,
                const std::vector<int>& keys,
                const CnnCamOptions& options = {});

/// Divides each channel of (K, H, W) maps by its spatial max + eps (IRN's normalisation).
torch::Tensor max_normalize(const torch::Tensor& maps, double eps);

/// Throws pm::Error unless `keys` are ascending, distinct and in 0..num_classes-1.
void check_cam_keys(const std::vector<int>& keys, int num_classes);

/// (N, K, h, w) → (N, K, out_h, out_w), bilinear with align_corners=False (IRN, ORANDNet).
torch::Tensor resize_maps(const torch::Tensor& maps, int64_t out_h, int64_t out_w);

/// Side of the stride-4 `cam` member for an image side (IRN's get_strided_size: ⌈n/4⌉).
inline int64_t strided_size(int64_t n) {
  return (n + 3) / 4;
}

/// An RGB image as a (1, 3, H, W) ImageNet-normalised float tensor on `device`.
torch::Tensor image_tensor(const RgbImage& image, const torch::Device& device);

}  // namespace pm::nn
