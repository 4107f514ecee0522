// SPDX-License-Identifier: MIT
#pragma once

// Class-specific relevance maps of a ViT classifier, written in the IRN CAM layout, by one of two
// methods of Chefer, Gur & Wolf:
// - lrp (the default, as ORANDNet's module/vit_cam.py): "Transformer Interpretability Beyond
//   Attention Visualization" (CVPR 2021): each block's attention weighted by its gradient times
//   its LRP relevance R(A_b) from a relevance pass with the paper's rules (cam/vit_lrp.h).
// - rollout: "Generic attention-model explainability ..." (ICCV 2021): the gradient weights the
//   attention itself (Ā_b = E_h[(∇A_b ⊙ A_b)⁺]); needs only autograd. The attention is the same
//   for every class, so class specificity comes from the gradient alone.
// Both share the rollout, the class-token row, min-max normalisation and bilinear resizing, as
// in ORANDNet.

#include <torch/types.h>

#include <string>
#include <vector>

#include "pseudomask/core/cam/cam_file.h"
#include "pseudomask/core/common/image.h"
#include "pseudomask/nn/heads/classifier.h"

namespace pm::nn {

/// How vit_cam explains a ViT.
enum class VitCamMethod {
  /// Chefer et al. (CVPR 2021) relevance propagation, as ORANDNet (cam/vit_lrp.h).
  kLrp,
  /// Gradient-weighted attention rollout (Chefer et al., ICCV 2021).
  kRollout,
};

/// "lrp" or "rollout" → the method; throws pm::Error naming VitCamOptions::method.
VitCamMethod parse_vit_cam_method(const std::string& name);
const char* vit_cam_method_name(VitCamMethod method);

/// Options of vit_cam.
struct VitCamOptions {
  /// Side of the square the image is resized to (ORANDNet: 512); 0 = the model's image_size.
  int input_size = 0;
  VitCamMethod method = VitCamMethod::kLrp;
};

/// Chefer et al. 2021 (ICCV), Eqs. 5–6: with Ā_b = mean over heads of (∂y/∂A_b ⊙ A_b)⁺ and
/// R = I, R ← R + Ā_b·R for b = 1..B. attention, gradients: B × (heads, T, T) (batch of one).
/// Returns R: (T, T).
torch::Tensor gradient_weighted_rollout(const std::vector<torch::Tensor>& attention,
                                        const std::vector<torch::Tensor>& gradients);

/// The relevance maps of one image for the classes `keys` (0-based, ascending): the image is
/// resized (bilinear) to input_size², one forward pass keeps every block's attention, and for
/// each class the gradient of its logit and (LRP) the relevance of each attention map give the
/// rollout R (lrp_class_relevance or gradient_weighted_rollout); the class token's row over the
/// patches, as a (grid, grid) map, is min-max normalised to [0, 1] and resized (bilinear,
/// align_corners=False) to (H, W) for `high_res` and (⌈H/4⌉, ⌈W/4⌉) for `cam`.
CamFile vit_cam(Classifier& model,
                const RgbImage& image,
                const std::vector<int>& keys,
                const VitCamOptions& options = {});

}  // namespace pm::nn
