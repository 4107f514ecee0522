// SPDX-License-Identifier: MIT
// The ViT relevance propagation (nn/cam/vit_lrp.h) against the autograd-based reference of
// tests/fixtures/nn/make_lrp_fixtures.py (float64), on pseudomask's vit-tiny with key-filled
// weights: per block the relevance of every attention map, and per class the rolled-out map.
#include <gtest/gtest.h>

#include <map>

#include "pseudomask/core/common/image.h"
#include "pseudomask/core/io/numpy/npz.h"
#include "pseudomask/nn/cam/vit_cam.h"
#include "pseudomask/nn/cam/vit_lrp.h"
#include "pseudomask/nn/tensor.h"
#include "support/hash_fill.h"
#include "support/test_paths.h"

namespace pm::nn {
namespace {

constexpr int kClasses = 5;
constexpr int kBlocks = 4;

const std::map<std::string, NDArray>& expected() {
  static const auto arrays = read_npz(test::fixture("nn/vit_lrp_expected.npz"));
  return arrays;
}

torch::Tensor fixture(const std::string& key) {
  return to_tensor(expected().at(key)).to(torch::kFloat64);
}

Classifier tiny_vit(torch::Dtype dtype) {
  ClassifierOptions o;
  o.arch = "vit-tiny";
  o.num_classes = kClasses;
  o.image_size = 64;
  Classifier model(o);
  test::hash_fill(*model);
  model->eval();
  model->to(dtype);
  return model;
}

double max_abs(const torch::Tensor& t) {
  return t.abs().max().item<double>();
}

// Largest difference relative to the reference's largest magnitude.
double relative_error(const torch::Tensor& got, const torch::Tensor& want) {
  return max_abs(got.to(torch::kFloat64) - want) / max_abs(want);
}

TEST(VitLrp, EveryBlocksAttentionRelevanceAndEveryClassMapEqualTheReference) {
  Classifier model = tiny_vit(torch::kFloat64);
  const torch::Tensor x = fixture("input").set_requires_grad(true);
  const VitLrpTrace trace = vit_lrp_trace(model, x);
  EXPECT_LT(relative_error(trace.logits.detach(), fixture("logits")), 1e-10);
  EXPECT_LT(relative_error(model->forward(x).detach(), fixture("logits")), 1e-10);
  for (int c = 0; c < kClasses; ++c) {
    const std::vector<torch::Tensor> rel = attention_relevances(model, trace, c);
    ASSERT_EQ(rel.size(), static_cast<size_t>(kBlocks));
    for (int b = 0; b < kBlocks; ++b) {
      const std::string key = "attn_rel_" + std::to_string(c) + "_" + std::to_string(b);
      EXPECT_LT(relative_error(rel[static_cast<size_t>(b)], fixture(key)), 1e-9) << key;
    }
    const torch::Tensor map = lrp_class_relevance(model, trace, c);
    EXPECT_LT(relative_error(map, fixture("rel_" + std::to_string(c))), 1e-9) << c;
  }
}

TEST(VitLrp, Float32MapsEqualTheReferenceWithin1e4AfterNormalisation) {
  Classifier model = tiny_vit(torch::kFloat32);
  const torch::Tensor x = fixture("input").to(torch::kFloat32).set_requires_grad(true);
  const VitLrpTrace trace = vit_lrp_trace(model, x);
  auto normalised = [](const torch::Tensor& m) { return (m - m.min()) / (m.max() - m.min()); };
  for (int c = 0; c < kClasses; ++c) {
    const torch::Tensor got = normalised(lrp_class_relevance(model, trace, c).to(torch::kFloat64));
    const torch::Tensor want = normalised(fixture("rel_" + std::to_string(c)));
    EXPECT_LT(max_abs(got - want), 1e-4) << c;
  }
}

TEST(VitLrp, TheMapsOfTwoClassesDifferWhereRolloutsAttentionFactorIsShared) {
  // LRP's relevance of an attention map depends on the class (it flows from that class's
  // logit); rollout weights the same attention map for every class.
  Classifier model = tiny_vit(torch::kFloat64);
  const torch::Tensor x = fixture("input").set_requires_grad(true);
  const VitLrpTrace trace = vit_lrp_trace(model, x);
  const std::vector<torch::Tensor> r0 = attention_relevances(model, trace, 0);
  const std::vector<torch::Tensor> r4 = attention_relevances(model, trace, 4);
  for (int b = 0; b < kBlocks; ++b)
    EXPECT_GT(max_abs(r0[static_cast<size_t>(b)] - r4[static_cast<size_t>(b)]),
              1e-3 * max_abs(r0[static_cast<size_t>(b)]))
        << b;
  const torch::Tensor m0 = lrp_class_relevance(model, trace, 0);
  const torch::Tensor m4 = lrp_class_relevance(model, trace, 4);
  const torch::Tensor corr = torch::corrcoef(torch::stack({m0, m4}))[0][1];
  EXPECT_LT(corr.item<double>(), 0.99);
}

TEST(VitLrp, ConservesTheRelevanceThroughAResidualAddition) {
  // Eq. 7–8: the two branches' relevances sum to the incoming relevance's sum.
  torch::manual_seed(3);
  const torch::Tensor u = torch::randn({2, 5, 8}, torch::kFloat64);
  const torch::Tensor v = torch::randn({2, 5, 8}, torch::kFloat64);
  const torch::Tensor r = torch::rand({2, 5, 8}, torch::kFloat64);
  const auto [ru, rv] = lrp_add(r, u, v);
  // (up to the 1e-9 of the guarded divisions)
  EXPECT_NEAR((ru.sum() + rv.sum()).item<double>(), r.sum().item<double>(), 1e-9 * 42 * 10);
  EXPECT_GT(r.sum().item<double>(), 10.0);
}

TEST(VitCam, LrpIsTheDefaultAndWritesMapsInTheIrnLayout) {
  EXPECT_EQ(VitCamOptions{}.method, VitCamMethod::kLrp);
  EXPECT_EQ(parse_vit_cam_method("rollout"), VitCamMethod::kRollout);
  EXPECT_THROW(parse_vit_cam_method("gradcam"), pm::Error);
  Classifier model = tiny_vit(torch::kFloat32);
  RgbImage image(50, 38);
  for (size_t i = 0; i < image.pixels.size(); ++i)
    image.pixels[i] = static_cast<uint8_t>((i * 37) % 251);
  const CamFile lrp = vit_cam(model, image, {1, 3});
  const CamFile rollout = vit_cam(model, image, {1, 3}, {0, VitCamMethod::kRollout});
  ASSERT_EQ(lrp.cam.channels(), 2);
  EXPECT_EQ(lrp.cam.height(), 10);
  EXPECT_EQ(lrp.cam.width(), 13);
  EXPECT_EQ(lrp.high_res.height(), 38);
  float lo = 1, hi = 0, diff = 0;
  for (size_t i = 0; i < lrp.high_res.size(); ++i) {
    lo = std::min(lo, lrp.high_res.values()[i]);
    hi = std::max(hi, lrp.high_res.values()[i]);
    diff = std::max(diff, std::abs(lrp.high_res.values()[i] - rollout.high_res.values()[i]));
  }
  EXPECT_GE(lo, 0.0f);
  EXPECT_LE(hi, 1.0f + 1e-6f);
  EXPECT_GT(diff, 1e-3f);  // the two methods give different maps
}

}  // namespace
}  // namespace pm::nn
