// SPDX-License-Identifier: MIT
#pragma once

// Class-specific relevance maps of a ViT classifier: gradient-weighted attention rollout
// (Chefer, Gur & Wolf, "Generic attention-model explainability for interpreting bi-modal and
// encoder-decoder transformers", ICCV 2021), written in the IRN CAM layout.
//
// How this differs from the official ORANDNet code (module/vit_cam.py): ORANDNet uses Chefer et
// al.'s earlier "Transformer interpretability beyond attention visualization" (CVPR 2021), in
// which each block's attention is weighted by its gradient times its LRP relevance R(A_b),
// obtained by a layer-wise relevance propagation pass with custom rules for every layer (Linear
// α=1/β=0, matmuls by gradient×input, residual adds split by magnitude). Here the gradient
// weights the attention itself (Ā_b = E_h[(∇A_b ⊙ A_b)⁺]), which needs only autograd, works with
// any timm-layout ViT and, per Chefer et al. (ICCV 2021), gives maps of comparable quality. The
// rollout, class-token row, min-max normalisation and bilinear resizing are as in ORANDNet.

#include <torch/types.h>

#include <vector>

#include "pseudomask/core/cam/cam_file.h"
#include "pseudomask/core/common/image.h"
#include "pseudomask/nn/heads/classifier.h"

namespace pm::nn {

/// Options of vit_cam.
struct VitCamOptions {
  /// Side of the square the image is resized to (ORANDNet: 512); 0 = the model's image_size.
  int input_size = 0;
};

/// Chefer et al. 2021 (ICCV), Eqs. 5–6: with Ā_b = mean over heads of (∂y/∂A_b ⊙ A_b)⁺ and
/// R = I, R ← R + Ā_b·R for b = 1..B. attention, gradients: B × (heads, T, T) (batch of one).
/// Returns R: (T, T).
torch::Tensor gradient_weighted_rollout(const std::vector<torch::Tensor>& attention,
                                        const std::vector<torch::Tensor>& gradients);

/// The relevance maps of one image for the classes `keys` (0-based, ascending): the image is
/// resized (bilinear) to input_size², one forward pass keeps every block's attention, and for
/// each class the gradient of its logit gives the rollout R; the class token's row over the
/// patches, as a (grid, grid) map, is min-max normalised to [0, 1] and resized (bilinear,
/// align_corners=False) to (H, W) for `high_res` and (⌈H/4⌉, ⌈W/4⌉) for `cam`.
CamFile vit_cam(Classifier& model,
                const RgbImage& image,
                const std::vector<int>& keys,
                const VitCamOptions& options = {});

}  // namespace pm::nn
