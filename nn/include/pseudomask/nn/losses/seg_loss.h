// SPDX-License-Identifier: MIT
#pragma once

// The segmentation loss: per-pixel cross-entropy ignoring 255, optionally weighted per pixel by
// URN's uncertainty weights and clamped by PMM's pretended under-fitting strategy.

#include <torch/types.h>

#include <string>

namespace pm::nn {

/// The order in which PMM's PUS clamp and URN's per-pixel weights combine.
enum class PusOrder {
  /// The official URN code (mmseg cross_entropy_loss.py): ℓ ← ℓ·Y first, then the PUS test on
  /// mean(ℓ·Y) and the clamp min(ℓ·Y, k).
  kWeightsFirst,
  /// PUS on the plain ℓ (test on mean ℓ, clamp min(ℓ, k)), then the weights.
  kClampFirst,
};

/// "weights-first" or "clamp-first" → the order; throws pm::Error naming the value.
PusOrder parse_pus_order(const std::string& name);
/// The order's name as parse_pus_order reads it.
const char* pus_order_name(PusOrder order);

/// How the per-pixel losses are reduced and modified.
struct SegLossOptions {
  /// false (the official URN/mmseg code): Σ w·ℓ / (all pixels, ignored ones included);
  /// true: Σ w·ℓ / Σ w over the pixels that are not ignored (torch's ignore_index mean when
  /// there are no weights).
  bool normalize_by_weight = false;
  /// PMM's pretended under-fitting (PUS): when the mean loss of the batch drops below
  /// `pus_beta`, ℓ ← min(ℓ, pus_k). 0 = off. PMM: β = k = 0.5 (VOC), 0.8 (COCO).
  double pus_beta = 0;
  double pus_k = 0;
  /// Where the PUS clamp sits relative to the weights (only matters with both).
  PusOrder pus_order = PusOrder::kWeightsFirst;
  /// Weight of the auxiliary head's loss (PSPNet; URN: 0.4).
  double aux_weight = 0.4;
  /// Throws pm::Error naming the offending field (SegLossOptions::pus_k, ...).
  void validate() const;
};

/// Per-pixel cross-entropy ℓ_i = −log softmax(logits_i)[y_i] (URN Eq. 13 before the weight Y),
/// 0 where y_i = 255.
/// logits (N, C, H, W) float, labels (N, H, W) int64 → (N, H, W).
torch::Tensor pixel_cross_entropy(const torch::Tensor& logits, const torch::Tensor& labels);

/// PMM's PUS (pus_type='clamp'): if mean(ℓ) over every pixel (ignored zeros included) is below
/// β, ℓ_i ← min(ℓ_i, k), so pixels with ℓ > k get no gradient. Returns ℓ unchanged otherwise.
torch::Tensor pretended_underfitting(const torch::Tensor& loss, double beta, double k);

/// The reduced loss of per-pixel losses `loss` (N, H, W): the weights (URN Eq. 13; undefined =
/// all 1; ignored pixels, label 255, weigh 0), PUS in options' pus_order, then the reduction
/// (normalize_by_weight).
torch::Tensor reduce_pixel_losses(const torch::Tensor& loss,
                                  const torch::Tensor& labels,
                                  const torch::Tensor& weights,
                                  const SegLossOptions& options);

/// URN Eq. 13 (weighted CE, as the official cross_entropy_loss.py reduces it): the reduced,
/// weighted loss −Y·log softmax(X)[M_c] of one head, Y being URN's weight mask (Eq. 12).
/// `logits` are bilinearly resized to the labels' size first (align_corners=False); `weights`
/// (N, H, W) may be undefined (all 1).
torch::Tensor seg_head_loss(const torch::Tensor& logits,
                            const torch::Tensor& labels,
                            const torch::Tensor& weights,
                            const SegLossOptions& options);

}  // namespace pm::nn
