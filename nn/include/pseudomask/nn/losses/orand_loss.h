// SPDX-License-Identifier: MIT
#pragma once

// ORANDNet's training losses (Park & Shim, "Precision matters"): the FCN-8s's logits for each
// class's OR map against the AND map of the two classifiers (ORANDNet Eq. 1).

#include <torch/types.h>

#include <string>

namespace pm::nn {

/// The training loss.
enum class OrandLoss {
  /// Per-pixel binary cross-entropy of each class's logit against its AND map (clamped to
  /// [0, 1]): learns from every image, single-class ones included. Refined CAM = sigmoid.
  kBce,
  /// The official code's F.cross_entropy with probability targets over the image's foreground
  /// classes: −(1/HW) Σ_p Σ_c AND_c log softmax_c(logits). Exactly 0 for one-class images.
  /// Refined CAM = ReLU.
  kOfficial,
};

/// "bce" or "official" → the loss; throws pm::Error naming the value.
OrandLoss parse_orand_loss(const std::string& name);
/// The loss's name as parse_orand_loss reads it.
const char* orand_loss_name(OrandLoss loss);

/// The official loss (module/encdec_train.py): logits and target (1, C, H, W).
torch::Tensor official_soft_ce_loss(const torch::Tensor& logits, const torch::Tensor& target);
/// The default loss: mean per-pixel BCE-with-logits against clamp(target, 0, 1).
torch::Tensor bce_and_loss(const torch::Tensor& logits, const torch::Tensor& target);
/// The loss `loss` names.
torch::Tensor orand_loss(OrandLoss loss, const torch::Tensor& logits, const torch::Tensor& target);

}  // namespace pm::nn
