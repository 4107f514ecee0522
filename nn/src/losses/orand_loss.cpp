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
  PM_FAIL("unknown ORANDNet loss '{}' (expected bce or official)", name);
}

const char* orand_loss_name(OrandLoss loss) {
  return loss == OrandLoss::kBce ? "bce" : "official";
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

torch::Tensor orand_loss(OrandLoss loss, const torch::Tensor& logits, const torch::Tensor& target) {
  return loss == OrandLoss::kOfficial ? official_soft_ce_loss(logits, target)
                                      : bce_and_loss(logits, target);
}

}  // namespace pm::nn
