// SPDX-License-Identifier: MIT
#include "pseudomask/nn/losses/orand_loss.h"

#include <torch/nn/functional/loss.h>

#include "pseudomask/core/common/error.h"

namespace pm::nn {

OrandLoss parse_orand_loss(const std::string& name) {
  if (name == "bce")
    return OrandLoss::kBce;
  if (name == "official")
    return OrandLoss::kOfficial;
  if (name == "balanced-ls")
    return OrandLoss::kBalancedSmoothed;
  PM_FAIL("unknown ORANDNet loss '{}' (expected bce, official or balanced-ls)", name);
}

const char* orand_loss_name(OrandLoss loss) {
  switch (loss) {
    case OrandLoss::kBce:
      return "bce";
    case OrandLoss::kOfficial:
      return "official";
    case OrandLoss::kBalancedSmoothed:
      return "balanced-ls";
  }
  return "bce";
}

torch::Tensor official_soft_ce_loss(const torch::Tensor& logits, const torch::Tensor& target) {
  // Official encdec_train.py: F.cross_entropy(logits, AND) with probability targets; the softmax
  // runs over the image's foreground classes (dim 1) only.
  const torch::Tensor log_p = torch::log_softmax(logits, 1);
  return -(target * log_p).sum(1).mean();
}

torch::Tensor bce_and_loss(const torch::Tensor& logits, const torch::Tensor& target) {
  return torch::binary_cross_entropy_with_logits(logits, target.clamp(0.0, 1.0));
}

torch::Tensor balanced_smoothed_bce_loss(const torch::Tensor& logits,
                                         const torch::Tensor& target,
                                         double label_smoothing) {
  PM_CHECK(label_smoothing >= 0 && label_smoothing < 1,
           "OrandTrainOptions::label_smoothing {}: must be in [0, 1)",
           label_smoothing);
  const torch::Tensor t = target.clamp(0.0, 1.0);
  // HED's class balance per (image, class) plane: β = share of negative mass.
  const torch::Tensor beta = 1.0 - t.mean({2, 3}, /*keepdim=*/true);
  const torch::Tensor s = t * (1.0 - label_smoothing) + label_smoothing / 2;
  // log σ(x) and log(1 − σ(x)) = log σ(−x), stable for large |x|.
  const torch::Tensor pos = s * torch::log_sigmoid(logits);
  const torch::Tensor neg = (1.0 - s) * torch::log_sigmoid(-logits);
  return -(beta * pos + (1.0 - beta) * neg).mean();
}

torch::Tensor orand_loss(OrandLoss loss,
                         const torch::Tensor& logits,
                         const torch::Tensor& target,
                         double label_smoothing) {
  switch (loss) {
    case OrandLoss::kOfficial:
      return official_soft_ce_loss(logits, target);
    case OrandLoss::kBalancedSmoothed:
      return balanced_smoothed_bce_loss(logits, target, label_smoothing);
    case OrandLoss::kBce:
      break;
  }
  return bce_and_loss(logits, target);
}

}  // namespace pm::nn
