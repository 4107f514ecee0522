// SPDX-License-Identifier: MIT
// The losses of nn/losses: the segmentation cross-entropy with URN weights and PMM's PUS, and
// ORANDNet's two losses, against hand-computed values.
#include <gtest/gtest.h>

#include <cmath>

#include "pseudomask/core/common/error.h"
#include "pseudomask/nn/losses/orand_loss.h"
#include "pseudomask/nn/losses/seg_loss.h"

namespace pm::nn {
namespace {

TEST(SegLoss, WeightedCrossEntropyHandComputed) {
  // One image, 2 classes, 1x3 pixels. Logits (0, 0) → ℓ = ln 2 for either label;
  // (ln 3, 0) with label 1 → ℓ = ln 4.
  const torch::Tensor logits =
      torch::tensor({0.0f, 0.0f, std::log(3.0f), 0.0f, 0.0f, 0.0f}).view({1, 2, 1, 3});
  const torch::Tensor labels = torch::tensor({0L, 255L, 1L}, torch::kInt64).view({1, 1, 3});
  const torch::Tensor weights = torch::tensor({0.5f, 1.0f, 0.05f}).view({1, 1, 3});
  const double ln2 = std::log(2.0), ln4 = std::log(4.0);
  // ℓ = (ln 2, 0 (ignored), ln 4): pixel 0 has logits (0, 0)... class 1 pixel 2 has (ln3, 0).
  SegLossOptions o;
  const double official = seg_head_loss(logits, labels, weights, o).item<double>();
  EXPECT_NEAR(official, (0.5 * ln2 + 0.05 * ln4) / 3.0, 1e-6);  // mean over all 3 pixels
  o.normalize_by_weight = true;
  const double normalised = seg_head_loss(logits, labels, weights, o).item<double>();
  EXPECT_NEAR(normalised, (0.5 * ln2 + 0.05 * ln4) / 0.55, 1e-6);  // ignored weight excluded
  // No weights: normalised = torch's ignore_index mean over the 2 valid pixels.
  EXPECT_NEAR(
      seg_head_loss(logits, labels, torch::Tensor(), o).item<double>(), (ln2 + ln4) / 2.0, 1e-6);
}

TEST(SegLoss, PretendedUnderfittingClampsOnlyBelowBeta) {
  const torch::Tensor l = torch::tensor({0.1f, 0.2f, 1.2f});          // mean 0.5
  EXPECT_TRUE(torch::equal(pretended_underfitting(l, 0.5, 0.3), l));  // mean not < β
  const torch::Tensor c = pretended_underfitting(l, 0.6, 0.3);
  EXPECT_FLOAT_EQ(c[2].item<float>(), 0.3f);
  EXPECT_FLOAT_EQ(c[0].item<float>(), 0.1f);
  // The clamped pixel gets no gradient.
  torch::Tensor x = torch::tensor({0.1f, 0.2f, 1.2f}, torch::requires_grad());
  pretended_underfitting(x, 0.6, 0.3).sum().backward();
  EXPECT_FLOAT_EQ(x.grad()[2].item<float>(), 0.0f);
  EXPECT_FLOAT_EQ(x.grad()[0].item<float>(), 1.0f);
}

TEST(SegLoss, PusOrderWeightsFirstAsTheOfficialCodeOrClampFirst) {
  // 8 pixels, ℓ = (1.2, 2.0, 0, ...), Y = (1, 0.05, 1, ...), β = k = 0.5 (PMM VOC).
  const torch::Tensor loss =
      torch::tensor({1.2, 2.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0}, torch::kFloat64).view({1, 1, 8});
  const torch::Tensor labels = torch::zeros({1, 1, 8}, torch::kInt64);
  torch::Tensor weights = torch::ones({1, 1, 8}, torch::kFloat64);
  weights[0][0][1] = 0.05;
  SegLossOptions o;
  o.pus_beta = o.pus_k = 0.5;
  // Official: ℓ·Y = (1.2, 0.1, 0...), mean 0.1625 < β → min(ℓ·Y, 0.5) = (0.5, 0.1): 0.6 / 8.
  EXPECT_EQ(o.pus_order, PusOrder::kWeightsFirst);
  EXPECT_NEAR(reduce_pixel_losses(loss, labels, weights, o).item<double>(), 0.6 / 8, 1e-12);
  // Clamp first: mean ℓ = 0.4 < β → (0.5, 0.5), then ·Y = (0.5, 0.025): 0.525 / 8.
  o.pus_order = PusOrder::kClampFirst;
  EXPECT_NEAR(reduce_pixel_losses(loss, labels, weights, o).item<double>(), 0.525 / 8, 1e-12);
  // A case where only the weighted mean falls below β: ℓ = (6, 0, ...), Y = (0.05, 1, ...).
  const torch::Tensor big =
      torch::tensor({6.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0}, torch::kFloat64).view({1, 1, 8});
  torch::Tensor low = torch::ones({1, 1, 8}, torch::kFloat64);
  low[0][0][0] = 0.05;
  // Clamp first: mean 0.75 ≥ β, no clamp: 0.3 / 8. Weights first: 0.3 / 8 < β, min(0.3, 0.5).
  EXPECT_NEAR(reduce_pixel_losses(big, labels, low, o).item<double>(), 0.3 / 8, 1e-12);
  o.pus_order = PusOrder::kWeightsFirst;
  EXPECT_NEAR(reduce_pixel_losses(big, labels, low, o).item<double>(), 0.3 / 8, 1e-12);
  EXPECT_EQ(parse_pus_order("clamp-first"), PusOrder::kClampFirst);
  EXPECT_STREQ(pus_order_name(PusOrder::kWeightsFirst), "weights-first");
  EXPECT_THROW(parse_pus_order("first"), Error);
}

TEST(SegLoss, UpsamplesLogitsToLabels) {
  const torch::Tensor logits = torch::zeros({2, 3, 2, 2});
  const torch::Tensor labels = torch::zeros({2, 16, 16}, torch::kInt64);
  EXPECT_NEAR(seg_head_loss(logits, labels, {}, {}).item<double>(), std::log(3.0), 1e-6);
}

TEST(OrandLoss, OfficialLossIsExactlyZeroForOneClassImages) {
  const torch::Tensor logits = torch::randn({1, 1, 5, 6}, torch::requires_grad());
  const torch::Tensor target = torch::rand({1, 1, 5, 6});
  const torch::Tensor loss = official_soft_ce_loss(logits, target);
  EXPECT_EQ(loss.item<float>(), 0.0f);
  loss.backward();
  EXPECT_EQ(logits.grad().abs().max().item<float>(), 0.0f);
  // The default loss does learn from it.
  EXPECT_GT(bce_and_loss(logits, target).item<float>(), 0.1f);
}

TEST(OrandLoss, HandComputedValues) {
  // One pixel, two classes: softmax(0, ln 3) = (1/4, 3/4); target (1, 0.5) (not normalised).
  const torch::Tensor logits = torch::tensor({0.0f, std::log(3.0f)}).view({1, 2, 1, 1});
  const torch::Tensor target = torch::tensor({1.0f, 0.5f}).view({1, 2, 1, 1});
  EXPECT_NEAR(official_soft_ce_loss(logits, target).item<float>(),
              -(std::log(0.25) + 0.5 * std::log(0.75)),
              1e-6);
  // BCE: logit 0 against 1 → ln 2; logit ln 3 (p = 3/4) against 0.5 → −(ln .75 + ln .25)/2.
  EXPECT_NEAR(bce_and_loss(logits, target).item<float>(),
              (std::log(2.0) - 0.5 * (std::log(0.75) + std::log(0.25))) / 2,
              1e-6);
  // Targets above 1 (the official 0.15 shift) are clamped to 1.
  EXPECT_NEAR(bce_and_loss(logits, target * 1.15).item<float>(),
              (std::log(2.0) - (0.575 * std::log(0.75) + 0.425 * std::log(0.25))) / 2,
              1e-5);
}

TEST(OrandLoss, BalancedSmoothedCrossEntropyHandComputed) {
  // One class, 1x4 pixels, targets (1, 0, 0, 0): β = 1 − 1/4 = 3/4. ε = 0.1 → smoothed targets
  // (0.95, 0.05, 0.05, 0.05). Logits 0 → log σ = log(1 − σ) = −ln 2 at every pixel, so each pixel
  // costs ln 2 · (β s + (1 − β)(1 − s)).
  const torch::Tensor logits = torch::zeros({1, 1, 1, 4});
  const torch::Tensor target = torch::tensor({1.0f, 0.0f, 0.0f, 0.0f}).view({1, 1, 1, 4});
  const double ln2 = std::log(2.0);
  const double pos = 0.75 * 0.95 + 0.25 * 0.05, neg = 0.75 * 0.05 + 0.25 * 0.95;
  EXPECT_NEAR(balanced_smoothed_bce_loss(logits, target, 0.1).item<double>(),
              ln2 * (pos + 3 * neg) / 4,
              1e-6);
  // Logit ln 3 (σ = 3/4) on the positive pixel, ε = 0: only that pixel's positive term and the
  // three negatives' (ln 2 each) remain.
  const torch::Tensor l2 = torch::tensor({std::log(3.0f), 0.0f, 0.0f, 0.0f}).view({1, 1, 1, 4});
  EXPECT_NEAR(balanced_smoothed_bce_loss(l2, target, 0.0).item<double>(),
              (-0.75 * std::log(0.75) + 3 * 0.25 * ln2) / 4,
              1e-6);
  // Class balance per class plane: a second class with targets (1, 1, 1, 0) has β = 1/4.
  const torch::Tensor t2 =
      torch::tensor({1.0f, 0.0f, 0.0f, 0.0f, 1.0f, 1.0f, 1.0f, 0.0f}).view({1, 2, 1, 4});
  const double second = ln2 * (3 * 0.25 + 0.75) / 4;
  const double first = ln2 * (0.75 + 3 * 0.25) / 4;
  EXPECT_NEAR(balanced_smoothed_bce_loss(torch::zeros({1, 2, 1, 4}), t2, 0.0).item<double>(),
              (first + second) / 2,
              1e-6);
  EXPECT_EQ(parse_orand_loss("balanced-ls"), OrandLoss::kBalancedSmoothed);
  EXPECT_STREQ(orand_loss_name(OrandLoss::kBalancedSmoothed), "balanced-ls");
  EXPECT_NEAR(orand_loss(OrandLoss::kBalancedSmoothed, logits, target, 0.1).item<double>(),
              ln2 * (pos + 3 * neg) / 4,
              1e-6);
  EXPECT_THROW(balanced_smoothed_bce_loss(logits, target, 1.0), Error);
}

}  // namespace
}  // namespace pm::nn
