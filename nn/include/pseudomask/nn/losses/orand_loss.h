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
  /// The ORANDNet paper's Fig. 2 caption: "class-balanced cross entropy with label smoothing"
  /// (L_ls,bce). Per class plane of an image, a BCE-with-logits whose positive term is weighted
  /// by β = 1 − mean(t) and negative term by 1 − β (HED's class balance, t = clamp(AND, 0, 1)),
  /// against the smoothed target t(1 − ε) + ε/2; the mean over pixels and classes. The paper
  /// gives no ε: 0.1 (Szegedy et al.'s label smoothing) by default. Refined CAM = sigmoid.
  kBalancedSmoothed,
};

/// ε of kBalancedSmoothed when none is given.
constexpr double kDefaultLabelSmoothing = 0.1;

/// "bce", "official" or "balanced-ls" → the loss; throws pm::Error naming the value.
OrandLoss parse_orand_loss(const std::string& name);
/// The loss's name as parse_orand_loss reads it.
const char* orand_loss_name(OrandLoss loss);

/// The official loss (module/encdec_train.py): logits and target (1, C, H, W).
torch::Tensor official_soft_ce_loss(const torch::Tensor& logits, const torch::Tensor& target);
/// The default loss: mean per-pixel BCE-with-logits against clamp(target, 0, 1).
torch::Tensor bce_and_loss(const torch::Tensor& logits, const torch::Tensor& target);
/// The paper's loss (kBalancedSmoothed) with label smoothing ε in [0, 1): logits and target
/// (1, C, H, W).
torch::Tensor balanced_smoothed_bce_loss(const torch::Tensor& logits,
                                         const torch::Tensor& target,
                                         double label_smoothing);
/// The loss `loss` names (`label_smoothing` is kBalancedSmoothed's ε).
torch::Tensor orand_loss(OrandLoss loss,
                         const torch::Tensor& logits,
                         const torch::Tensor& target,
                         double label_smoothing = kDefaultLabelSmoothing);

}  // namespace pm::nn
