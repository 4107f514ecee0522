// SPDX-License-Identifier: MIT
#include "pseudomask/nn/losses/seg_loss.h"

#include <torch/nn/functional/loss.h>
#include <torch/nn/functional/upsampling.h>

#include "pseudomask/core/common/error.h"

namespace pm::nn {

namespace F = torch::nn::functional;

PusOrder parse_pus_order(const std::string& name) {
  if (name == "weights-first")
    return PusOrder::kWeightsFirst;
  if (name == "clamp-first")
    return PusOrder::kClampFirst;
  PM_FAIL("SegLossOptions::pus_order '{}': unknown (weights-first or clamp-first)", name);
}

const char* pus_order_name(PusOrder order) {
  return order == PusOrder::kClampFirst ? "clamp-first" : "weights-first";
}

void SegLossOptions::validate() const {
  PM_CHECK(pus_beta >= 0, "SegLossOptions::pus_beta {}: must be >= 0", pus_beta);
  PM_CHECK(pus_beta == 0 || pus_k > 0,
           "SegLossOptions::pus_k {}: must be > 0 with SegLossOptions::pus_beta {}",
           pus_k,
           pus_beta);
  PM_CHECK(aux_weight >= 0, "SegLossOptions::aux_weight {}: must be >= 0", aux_weight);
}

torch::Tensor pixel_cross_entropy(const torch::Tensor& logits, const torch::Tensor& labels) {
  return F::cross_entropy(
      logits, labels, F::CrossEntropyFuncOptions().ignore_index(255).reduction(torch::kNone));
}

torch::Tensor pretended_underfitting(const torch::Tensor& loss, double beta, double k) {
  if (beta <= 0 || loss.mean().item<double>() >= beta)
    return loss;
  return torch::clamp_max(loss, k);
}

torch::Tensor seg_head_loss(const torch::Tensor& logits,
                            const torch::Tensor& labels,
                            const torch::Tensor& weights,
                            const SegLossOptions& o) {
  torch::Tensor x = logits;
  if (x.size(2) != labels.size(1) || x.size(3) != labels.size(2)) {
    x = F::interpolate(x,
                       F::InterpolateFuncOptions()
                           .size(std::vector<int64_t>{labels.size(1), labels.size(2)})
                           .mode(torch::kBilinear)
                           .align_corners(false));
  }
  return reduce_pixel_losses(pixel_cross_entropy(x, labels), labels, weights, o);
}

torch::Tensor reduce_pixel_losses(const torch::Tensor& loss,
                                  const torch::Tensor& labels,
                                  const torch::Tensor& weights,
                                  const SegLossOptions& o) {
  // URN Eq. 13: each pixel's loss times its weight Y (Eq. 12); ignored pixels weigh 0.
  const torch::Tensor valid = (labels != 255).to(loss.scalar_type());
  const torch::Tensor w = weights.defined() ? weights.to(loss.scalar_type()) * valid : valid;
  const torch::Tensor weighted = o.pus_order == PusOrder::kClampFirst
                                     ? pretended_underfitting(loss, o.pus_beta, o.pus_k) * w
                                     : pretended_underfitting(loss * w, o.pus_beta, o.pus_k);
  const torch::Tensor total = weighted.sum();
  if (o.normalize_by_weight)
    return total / w.sum().clamp_min(1e-12);
  return total / static_cast<double>(loss.numel());
}

}  // namespace pm::nn
