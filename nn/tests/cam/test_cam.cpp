// SPDX-License-Identifier: MIT
// CAM extraction: the CNN CAM equals the hand-computed classifier-weighted feature map, the
// multi-scale flip sum is mirror-symmetric, files are in the IRN layout, and the ViT relevance
// (gradient-weighted rollout) is checked on a hand-computed case.
#include <gtest/gtest.h>

#include <torch/csrc/autograd/grad_mode.h>

#include "pseudomask/core/cam/cam_file.h"
#include "pseudomask/core/common/resize.h"
#include "pseudomask/nn/cam/cnn_cam.h"
#include "pseudomask/nn/cam/vit_cam.h"
#include "pseudomask/nn/tensor.h"
#include "support/expect_error.h"
#include "support/test_paths.h"
#include "support/tiny_dataset.h"

namespace pm::nn {
namespace {

std::vector<int64_t> shape_of(const Planes& p) {
  return {p.channels(), p.height(), p.width()};
}

Classifier tiny_cnn() {
  torch::manual_seed(3);
  ClassifierOptions o;
  o.arch = "resnet-tiny";
  o.num_classes = 3;
  Classifier m(o);
  m->eval();
  return m;
}

TEST(CnnCam, EqualsTheHandComputedWeightedFeatureMap) {
  Classifier model = tiny_cnn();
  const RgbImage img = test::tiny_image({0, 2}, 1, 64);
  CnnCamOptions o;
  o.scales = {1.0};
  o.flip = false;
  const CamFile f = cnn_cam(model, img, {0, 2}, o);

  // By hand: M_k(y, x) = max(0, Σ_c W_kc F_c(y, x)) at stride 16, upsampled with the core's
  // (independent) bilinear resize, divided by its max + 1e-5.
  torch::NoGradGuard no_grad;
  const torch::Tensor feat = model->resnet().features(image_tensor(img, torch::kCPU))[0];
  const torch::Tensor w = model->named_parameters()["classifier.weight"].reshape({3, -1});
  const int64_t C = feat.size(0), h = feat.size(1), wd = feat.size(2);
  ASSERT_EQ(h, 4);
  const std::vector<int> keys = {0, 2};
  std::vector<float> hand;
  for (int k : keys) {
    for (int64_t y = 0; y < h; ++y) {
      for (int64_t x = 0; x < wd; ++x) {
        double s = 0;
        for (int64_t c = 0; c < C; ++c)
          s += w[k][c].item<double>() * feat[c][y][x].item<double>();
        hand.push_back(static_cast<float>(std::max(0.0, s)));
      }
    }
  }
  const Planes planes(2, static_cast<int>(h), static_cast<int>(wd), hand);
  for (const auto& [got, side] : {std::make_pair(&f.high_res, 64), std::make_pair(&f.cam, 16)}) {
    const torch::Tensor up = to_tensor(resize_planes_bilinear(planes, side, side));
    const torch::Tensor want = up / (up.amax({1, 2}, true) + 1e-5);
    ASSERT_EQ(shape_of(*got), (std::vector<int64_t>{2, side, side}));
    EXPECT_LT((to_tensor(*got) - want).abs().max().item<double>(), 1e-5);
  }
  EXPECT_EQ(f.keys, keys);
}

TEST(CnnCam, MultiScaleFlipSumIsMirrorSymmetric) {
  Classifier model = tiny_cnn();
  const RgbImage img = test::tiny_image({1}, 2, 64);
  RgbImage mirrored = img;
  for (int y = 0; y < 64; ++y)
    for (int x = 0; x < 64; ++x)
      for (int c = 0; c < 3; ++c)
        mirrored.pixels[(y * 64 + x) * 3 + c] = img.pixels[(y * 64 + 63 - x) * 3 + c];
  const CamFile a = cnn_cam(model, img, {1});
  const CamFile b = cnn_cam(model, mirrored, {1});
  const torch::Tensor ta = to_tensor(a.high_res), tb = to_tensor(b.high_res);
  EXPECT_LT((ta - tb.flip({2})).abs().max().item<double>(), 1e-5);
  EXPECT_GT((ta - ta.flip({2})).abs().max().item<double>(), 1e-3) << "test image is symmetric";
}

TEST(CnnCam, IrnLayoutOnlyLabelledClassesReadBack) {
  Classifier model = tiny_cnn();
  const RgbImage img = test::tiny_image({0, 1}, 4, 50);  // 50 x 50: high_res cropped from 64
  const CamFile f = cnn_cam(model, img, {0, 1});
  test::TempDir dir("cam");
  write_cam_file(dir / "x.npy", f);
  const CamFile r = read_cam_file(dir / "x.npy");
  EXPECT_EQ(r.keys, (std::vector<int>{0, 1}));
  EXPECT_EQ(shape_of(r.cam), (std::vector<int64_t>{2, 13, 13}));
  EXPECT_EQ(shape_of(r.high_res), (std::vector<int64_t>{2, 50, 50}));
  const torch::Tensor hr = to_tensor(r.high_res);
  EXPECT_GE(hr.min().item<double>(), 0.0);
  // Each channel's max is max/(max + 1e-5): just below 1.
  EXPECT_NEAR(hr[0].max().item<double>(), 1.0, 1e-3);
  EXPECT_LT(hr[1].max().item<double>(), 1.0);

  const CamFile none = cnn_cam(model, img, {});
  EXPECT_TRUE(none.keys.empty());
  EXPECT_EQ(shape_of(none.high_res), (std::vector<int64_t>{0, 50, 50}));
  test::expect_error([&] { cnn_cam(model, img, {2, 1}); }, {"ascending"});
  test::expect_error([&] { cnn_cam(model, img, {3}); }, {"class 3", "0..2"});
}

TEST(VitCam, GradientWeightedRolloutByHand) {
  // Block 1, one head: Ā = (G ⊙ A)⁺ = [[0.5, 0], [0.4, 0.4]], R = I + Ā = [[1.5, 0], [0.4, 1.4]].
  const torch::Tensor a1 = torch::tensor({0.5, 0.5, 0.2, 0.8}).reshape({1, 2, 2});
  const torch::Tensor g1 = torch::tensor({1.0, -1.0, 2.0, 0.5}).reshape({1, 2, 2});
  // Block 2, two heads: (G ⊙ A)⁺ = [[0, 2], [0, 0]] and 0 → Ā = [[0, 1], [0, 0]];
  // R = R + Ā·R = [[1.9, 1.4], [0.4, 1.4]].
  const torch::Tensor a2 =
      torch::tensor({0.0, 1.0, 0.5, 0.5, 0.3, 0.7, 0.6, 0.4}).reshape({2, 2, 2});
  const torch::Tensor g2 =
      torch::tensor({5.0, 2.0, -1.0, 0.0, -1.0, -1.0, 0.0, -2.0}).reshape({2, 2, 2});
  const torch::Tensor r = gradient_weighted_rollout({a1, a2}, {g1, g2});
  const torch::Tensor want = torch::tensor({1.9, 1.4, 0.4, 1.4}).reshape({2, 2});
  EXPECT_LT((r - want).abs().max().item<double>(), 1e-6) << r;
}

TEST(VitCam, RelevanceMapsHaveImageShapeAndLieInZeroOne) {
  torch::manual_seed(5);
  ClassifierOptions o;
  o.arch = "vit-tiny";
  o.num_classes = 3;
  o.image_size = 64;
  Classifier model(o);
  model->eval();
  const RgbImage img = test::tiny_image({1, 2}, 3, 40);
  const CamFile f = vit_cam(model, img, {1, 2});
  EXPECT_EQ(f.keys, (std::vector<int>{1, 2}));
  ASSERT_EQ(shape_of(f.high_res), (std::vector<int64_t>{2, 40, 40}));
  ASSERT_EQ(shape_of(f.cam), (std::vector<int64_t>{2, 10, 10}));
  const torch::Tensor hr = to_tensor(f.high_res);
  EXPECT_GE(hr.min().item<double>(), 0.0);
  EXPECT_LE(hr.max().item<double>(), 1.0);
  EXPECT_GT(hr[0].max().item<double>(), 0.5);  // min-max normalised before resizing
  EXPECT_GT((hr[0] - hr[1]).abs().max().item<double>(), 1e-4) << "classes share one map";
  EXPECT_TRUE(model->vit().attention_maps()[0].defined() == false);  // nothing kept afterwards
  test::expect_error([&] { vit_cam(model, img, {0}, VitCamOptions{40}); },
                     {"VitCamOptions::input_size 40", "patch size 16"});
}

// ---- the classifier: backbone + head ------------------------------------------------------

TEST(Classifier, BackboneAndHeadKeepTheirCheckpointKeys) {
  EXPECT_EQ(parse_classifier_arch("deit-small"), ClassifierArch::kDeiTSmall);
  EXPECT_TRUE(is_vit(ClassifierArch::kViTTiny));
  EXPECT_FALSE(is_vit(ClassifierArch::kResNet101));
  for (const std::string arch : {"resnet-tiny", "vit-tiny"}) {
    const bool vit = arch == "vit-tiny";
    ClassifierOptions o;
    o.arch = arch;
    o.num_classes = 3;
    o.image_size = 32;
    Classifier m(o);
    const Checkpoint ckpt = state_dict_of(*m);
    EXPECT_NE(ckpt.find("classifier.weight"), nullptr) << arch;
    EXPECT_EQ(ckpt.find("classifier.bias") != nullptr, vit) << arch;
    EXPECT_NE(
        ckpt.find(vit ? "backbone.patch_embed.proj.weight" : "backbone.layer4.0.conv2.weight"),
        nullptr)
        << arch;
    for (const auto& p : m->named_parameters()) {
      EXPECT_TRUE(p.key().rfind("backbone.", 0) == 0 || p.key().rfind("classifier.", 0) == 0)
          << p.key();
    }
    const size_t all = m->backbone_parameters().size();
    m->freeze_stem();
    EXPECT_LT(m->backbone_parameters().size(), all) << arch;
    EXPECT_EQ(m->head_parameters().size(), vit ? 2u : 1u) << arch;
    EXPECT_EQ(m->forward(torch::randn({2, 3, 32, 32})).sizes(), torch::IntArrayRef({2, 3}));
  }
}

}  // namespace
}  // namespace pm::nn
