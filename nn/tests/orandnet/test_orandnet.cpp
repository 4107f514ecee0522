// SPDX-License-Identifier: MIT
// ORANDNet: the FCN-8s geometry (output size, bilinear init, crop offsets and the official
// height-only quirk), the VGG16 import, training, resume and inference (the losses are in
// tests/losses).
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>

#include "pseudomask/core/io/torch/checkpoint.h"
#include "pseudomask/nn/orandnet/fcn8s.h"
#include "pseudomask/nn/orandnet/orandnet.h"
#include "pseudomask/nn/tensor.h"
#include "support/expect_error.h"
#include "support/test_paths.h"

namespace pm::nn {
namespace {

Fcn8s tiny_net(bool official_crop = false, uint64_t seed = 1) {
  torch::manual_seed(seed);
  Fcn8sOptions o;
  o.width = "tiny";
  o.official_crop = official_crop;
  Fcn8s net(o);
  net->eval();
  return net;
}

TEST(OrandFcn8s, OutputSizeEqualsInputSizeForOddAndMixedSizes) {
  for (bool official : {false, true}) {
    Fcn8s net = tiny_net(official);
    torch::NoGradGuard no_grad;
    for (auto [h, w] : std::vector<std::pair<int, int>>{{1, 1}, {7, 5}, {17, 11}, {33, 20}}) {
      const torch::Tensor y = net->forward(torch::rand({1, 1, h, w}));
      EXPECT_EQ(y.sizes(), (std::vector<int64_t>{1, 1, h, w})) << h << "x" << w;
    }
  }
}

TEST(OrandFcn8s, BilinearTapsMatchTheAnalyticKernel) {
  const std::vector<float> k4 = bilinear_taps(4);
  EXPECT_EQ(k4, (std::vector<float>{0.25f, 0.75f, 0.75f, 0.25f}));
  const std::vector<float> k16 = bilinear_taps(16);
  for (int i = 0; i < 16; ++i)
    EXPECT_FLOAT_EQ(k16[i], 1.0f - std::abs(i - 7.5f) / 8.0f) << i;
  EXPECT_EQ(bilinear_taps(3), (std::vector<float>{0.5f, 1.0f, 0.5f}));
}

TEST(OrandFcn8s, TransposedConvsStartBilinearAndAreTrainable) {
  Fcn8s net = tiny_net();
  const torch::Tensor w = net->upscore8->weight;
  ASSERT_EQ(w.sizes(), (std::vector<int64_t>{1, 1, 16, 16}));
  for (int i = 0; i < 16; ++i)
    for (int j = 0; j < 16; ++j)
      EXPECT_FLOAT_EQ(w[0][0][i][j].item<float>(),
                      (1 - std::abs(i - 7.5f) / 8) * (1 - std::abs(j - 7.5f) / 8));
  EXPECT_FLOAT_EQ(net->upscore2->weight[0][0][1][2].item<float>(), 0.75f * 0.75f);
  EXPECT_FLOAT_EQ(net->upscore_pool4->weight[0][0][0][3].item<float>(), 0.25f * 0.25f);
  EXPECT_TRUE(net->upscore2->weight.requires_grad());
  EXPECT_FALSE(net->upscore8->bias.defined());
}

TEST(OrandFcn8s, CropOffsetsPerAxisAndTheOfficialHeightOnlyQuirk) {
  EXPECT_EQ(crop_offsets(10, 20, 4, 6, false), (std::array<int64_t, 2>{3, 7}));
  EXPECT_EQ(crop_offsets(10, 20, 4, 6, true), (std::array<int64_t, 2>{3, 3}));
  EXPECT_EQ(crop_offsets(11, 11, 4, 4, true), (std::array<int64_t, 2>{3, 3}));
  // Input 1x1 (hand-computed): conv1 pad 100 → 199, ceil pools 100, 50, 25, 13, 7, fc6 → 1;
  // up2 → 4 vs pool4 13: offset 4; up2 → 10 vs pool3 25: offset 7; up8 → 88 vs 1: offset 43.
  EXPECT_EQ(crop_offsets(13, 13, 4, 4, false)[0], 4);
  EXPECT_EQ(crop_offsets(25, 25, 10, 10, false)[0], 7);
  EXPECT_EQ(crop_offsets(88, 88, 1, 1, false)[0], 43);
  // Width 20: 219 → 110, 55, 28, 14, 7 → pool4 14 vs 4: offset 5, but the quirk reuses 4.
  EXPECT_EQ(crop_offsets(13, 14, 4, 4, false), (std::array<int64_t, 2>{4, 5}));
  EXPECT_EQ(crop_offsets(13, 14, 4, 4, true), (std::array<int64_t, 2>{4, 4}));
  // A tall map: the height's offset 8 reused for the width runs out of a width of 4.
  EXPECT_EQ(crop_offsets(20, 4, 4, 4, false), (std::array<int64_t, 2>{8, 0}));
  test::expect_error([] { crop_offsets(20, 4, 4, 4, true); }, {"crop", "does not fit"});
  test::expect_error([] { crop_offsets(3, 3, 4, 4, false); }, {"4x4", "3x3"});
}

TEST(OrandFcn8s, OfficialCropChangesOnlyNonSquareResults) {
  Fcn8s ours = tiny_net(false, 3), official = tiny_net(true, 3);
  torch::NoGradGuard no_grad;
  const torch::Tensor square = torch::rand({1, 1, 9, 9});
  EXPECT_TRUE(torch::allclose(ours->forward(square), official->forward(square)));
  const torch::Tensor wide = torch::rand({1, 1, 1, 20});  // pool4 offsets 4/5 vs 4/4
  EXPECT_FALSE(torch::allclose(ours->forward(wide), official->forward(wide)));
}

NDArray random_array(std::vector<int64_t> shape) {
  return to_ndarray(torch::randn(shape));
}

/// A torchvision-layout VGG16 state dict at the "tiny" widths (/16, fc 32).
Checkpoint tiny_torchvision_vgg() {
  torch::manual_seed(5);
  Checkpoint c;
  const int widths[] = {4, 4, 0, 8, 8, 0, 16, 16, 16, 0, 32, 32, 32, 0, 32, 32, 32, 0};
  int in = 3, index = 0;
  for (int w : widths) {
    if (w != 0) {
      c.tensors.emplace_back("features." + std::to_string(index) + ".weight",
                             random_array({w, in, 3, 3}));
      c.tensors.emplace_back("features." + std::to_string(index) + ".bias", random_array({w}));
      in = w;
      index += 2;
    } else {
      index += 1;
    }
  }
  c.tensors.emplace_back("classifier.0.weight", random_array({32, 32 * 49}));
  c.tensors.emplace_back("classifier.0.bias", random_array({32}));
  c.tensors.emplace_back("classifier.3.weight", random_array({32, 32}));
  c.tensors.emplace_back("classifier.3.bias", random_array({32}));
  c.tensors.emplace_back("classifier.6.weight", random_array({10, 32}));
  c.tensors.emplace_back("classifier.6.bias", random_array({10}));
  return c;
}

TEST(OrandFcn8s, Vgg16ImportSkipsConv1AndReshapesFc6Fc7) {
  const test::TempDir dir("orand");
  write_checkpoint(dir / "vgg.pth", tiny_torchvision_vgg());
  const Checkpoint ckpt = read_checkpoint(dir / "vgg.pth");
  Fcn8s net = tiny_net();
  const torch::Tensor conv1_before = net->vgg->features->named_parameters()["0.weight"].clone();
  const LoadReport r = load_vgg16_imagenet(net, ckpt, "vgg.pth");
  EXPECT_TRUE(r.ok()) << r.summary();
  EXPECT_EQ(r.ignored, (std::vector<std::string>{"classifier.6.weight", "classifier.6.bias"}));
  EXPECT_EQ(r.allowed_missing.size(), 2u);
  const auto params = net->vgg->features->named_parameters();
  EXPECT_TRUE(torch::equal(params["0.weight"], conv1_before));
  EXPECT_TRUE(torch::equal(params["2.weight"], to_tensor(*ckpt.find("features.2.weight"))));
  EXPECT_TRUE(torch::equal(params["28.bias"], to_tensor(*ckpt.find("features.28.bias"))));
  EXPECT_TRUE(torch::equal(net->vgg->fc6->weight,
                           to_tensor(*ckpt.find("classifier.0.weight")).view({32, 32, 7, 7})));
  EXPECT_TRUE(torch::equal(net->vgg->fc7->weight,
                           to_tensor(*ckpt.find("classifier.3.weight")).view({32, 32, 1, 1})));
}

TEST(OrandFcn8s, Vgg16ImportOfTheWrongWidthFailsNamingTheFile) {
  Fcn8sOptions o;
  o.width = "small";
  Fcn8s net(o);
  test::expect_error([&] { load_vgg16_imagenet(net, tiny_torchvision_vgg(), "vgg16_tiny.pth"); },
                     {"vgg16_tiny.pth", "mismatch"});
  test::expect_error(
      [] {
        Fcn8sOptions bad;
        bad.width = "huge";
        Fcn8s n(bad);
      },
      {"unknown width 'huge'"});
}

/// A toy image: OR is a wide blob, AND its centre.
OrandPair toy_pair(int classes) {
  OrandPair p;
  torch::Tensor or_map = torch::zeros({classes, 12, 12});
  torch::Tensor and_map = torch::zeros({classes, 12, 12});
  for (int k = 0; k < classes; ++k) {
    or_map[k].slice(0, 2 + k, 10).slice(1, 2, 10).fill_(0.8);
    and_map[k].slice(0, 4 + k, 8).slice(1, 4, 8).fill_(0.9);
    p.keys.push_back(k);
  }
  p.or_map = to_planes(or_map);
  p.and_map = to_planes(and_map);
  return p;
}

OrandTrainOptions toy_options(const std::string& out_dir) {
  OrandTrainOptions o;
  o.net.width = "tiny";
  o.iterations = 24;
  o.lr = 0.05;
  o.momentum = 0.9;
  o.out_dir = out_dir;
  return o;
}

TEST(OrandTrain, AFewStepsReduceTheLoss) {
  const test::TempDir dir("orand");
  std::vector<double> losses;
  const auto r = train_orandnet(
      toy_options(dir / "m"),
      {"a", "b"},
      [](const std::string& id) { return toy_pair(id == "a" ? 1 : 2); },
      [&](const OrandStep& s) { losses.push_back(s.loss); });
  ASSERT_EQ(losses.size(), 24u);
  EXPECT_EQ(r.steps, 24);
  const double first = (losses[0] + losses[1]) / 2, last = (losses[22] + losses[23]) / 2;
  EXPECT_LT(last, 0.7 * first) << first << " -> " << last;
}

TEST(OrandTrain, OfficialLossGivesNoGradientOnOneClassImages) {
  const test::TempDir dir("orand");
  OrandTrainOptions o = toy_options(dir / "m");
  o.loss = OrandLoss::kOfficial;
  o.iterations = 3;
  const auto r = train_orandnet(o, {"a"}, [](const std::string&) { return toy_pair(1); });
  EXPECT_EQ(r.zero_gradient_steps, 3);
  EXPECT_EQ(r.mean_loss, 0.0);
}

TEST(OrandTrain, ResumeContinuesExactly) {
  // The same check as the classifier's: a run stopped mid-epoch and resumed from last.pth gives
  // the losses and weights of an uninterrupted one, bit for bit.
  const test::TempDir dir("orand");
  auto load = [](const std::string& id) { return toy_pair(id == "a" ? 1 : 2); };
  std::vector<double> whole, joined;
  auto record = [](std::vector<double>& to) {
    return [&to](const OrandStep& s) { to.push_back(s.loss); };
  };
  OrandTrainOptions full = toy_options(dir / "full");
  full.iterations = 4;
  train_orandnet(full, {"a", "b", "c"}, load, record(whole));
  OrandTrainOptions part = toy_options(dir / "part");
  part.iterations = 4;
  part.stop_after = 2;
  const auto first = train_orandnet(part, {"a", "b", "c"}, load, record(joined));
  EXPECT_EQ(first.steps, 2);
  EXPECT_FALSE(first.finished);
  EXPECT_FALSE(std::filesystem::exists(dir / "part/model.pth"));
  EXPECT_EQ(load_orand_model(dir / "part/last.pth", torch::kCPU).step, 2);
  part.stop_after = 0;
  part.resume = true;
  const auto r = train_orandnet(part, {"a", "b", "c"}, load, record(joined));
  EXPECT_EQ(r.start_step, 2);
  EXPECT_EQ(r.steps, 2);
  EXPECT_TRUE(r.finished);
  EXPECT_EQ(joined, whole);
  const OrandModel a = load_orand_model(dir / "full/model.pth", torch::kCPU);
  const OrandModel b = load_orand_model(dir / "part/model.pth", torch::kCPU);
  EXPECT_EQ(b.step, 4);
  const auto pa = a.net->named_parameters(), pb = b.net->named_parameters();
  for (const auto& p : pa)
    EXPECT_TRUE(torch::equal(p.value(), pb[p.key()])) << p.key();
  // The log holds every step once, the resumed ones after the first run's.
  std::ifstream log(dir / "part/train_log.csv");
  int lines = 0;
  for (std::string line; std::getline(log, line);)
    ++lines;
  EXPECT_EQ(lines, 1 + 4);
}

TEST(OrandInfer, RefinedCamIsNonNegativeWithClassMaxNearOne) {
  Fcn8s net = tiny_net();
  const OrandPair p = toy_pair(2);
  for (OrandLoss loss : {OrandLoss::kBce, OrandLoss::kOfficial}) {
    const torch::Tensor y = to_tensor(refine_cam(net, p.or_map, loss, torch::kCPU));
    ASSERT_EQ(y.sizes(), (std::vector<int64_t>{2, 12, 12}));
    EXPECT_GE(y.min().item<float>(), 0.0f);
    for (int k = 0; k < 2; ++k) {
      const float m = y[k].max().item<float>();
      if (m > 0) {
        EXPECT_NEAR(m, 1.0f, 1e-4f);
      }
      EXPECT_LT(m, 1.0f);
    }
  }
}

/// A 40x40 toy image: OR is a 24-pixel square, AND its central 8 pixels.
OrandPair nested_squares() {
  torch::Tensor or_map = torch::zeros({1, 40, 40});
  torch::Tensor and_map = torch::zeros({1, 40, 40});
  or_map[0].slice(0, 8, 32).slice(1, 8, 32).fill_(0.8);
  and_map[0].slice(0, 16, 24).slice(1, 16, 24).fill_(1.0);
  OrandPair p;
  p.keys = {0};
  p.or_map = to_planes(or_map);
  p.and_map = to_planes(and_map);
  return p;
}

TEST(OrandInfer, ATrainedModelMapsTheOrToItsAnd) {
  // After training on one pair, inference on its OR must be high where the AND is and low on
  // the rest of the OR: the refined CAM is the learned AND, not a flat map. (With torch's
  // default init instead of torchvision's He init, the output did not depend on the input.)
  const test::TempDir dir("orand");
  OrandTrainOptions o = toy_options(dir / "m");
  o.iterations = 200;
  o.lr = 0.03;
  train_orandnet(o, {"a"}, [](const std::string&) { return nested_squares(); });
  OrandModel m = load_orand_model(dir / "m/model.pth", torch::kCPU);
  const OrandPair p = nested_squares();
  const torch::Tensor y = to_tensor(refine_cam(m.net, p.or_map, m.loss, torch::kCPU))[0];
  const float inside = y.slice(0, 17, 23).slice(1, 17, 23).mean().item<float>();
  const float ring = y.slice(0, 8, 12).slice(1, 8, 32).mean().item<float>();  // OR, not AND
  EXPECT_GT(inside, 0.7f);
  EXPECT_LT(ring, 0.2f) << "inside the AND " << inside;
}

TEST(OrandModelFile, RoundTripAndBadFiles) {
  const test::TempDir dir("orand");
  Fcn8s net = tiny_net(true);
  save_orand_model(dir / "m.pth", net, OrandLoss::kOfficial, true, 7);
  const OrandModel m = load_orand_model(dir / "m.pth", torch::kCPU);
  EXPECT_TRUE(m.net->options().official_crop);
  EXPECT_EQ(m.loss, OrandLoss::kOfficial);
  EXPECT_TRUE(m.official_pair);
  EXPECT_EQ(m.step, 7);
  EXPECT_TRUE(torch::equal(m.net->score_fr->weight, net->score_fr->weight));
  write_checkpoint(dir / "other.pth", tiny_torchvision_vgg());
  test::expect_error([&] { load_orand_model(dir / "other.pth", torch::kCPU); },
                     {"other.pth", "not an ORANDNet model"});
}

TEST(OrandPairs, OrAndFollowEq1) {
  CamFile a, b;
  a.keys = b.keys = {3};
  a.high_res = to_planes(torch::tensor({0.5f, 1.0f, 0.0f}).view({1, 1, 3}));
  b.high_res = to_planes(torch::tensor({0.5f, 0.2f, 0.0f}).view({1, 1, 3}));
  const OrandPair off = make_orand_pair(a, b, true, "a.npy", "b.npy");
  // Official: b + 0.15 → (0.65, 0.35, 0.15); OR = a + b − ab, AND = ab, not renormalised.
  const torch::Tensor o = to_tensor(off.or_map).flatten(), n = to_tensor(off.and_map).flatten();
  EXPECT_NEAR(o[0].item<float>(), 0.5f + 0.65f - 0.325f, 1e-6);
  EXPECT_NEAR(o[1].item<float>(), 1.0f, 1e-6);
  EXPECT_NEAR(o[2].item<float>(), 0.15f, 1e-6);
  EXPECT_NEAR(n[0].item<float>(), 0.325f, 1e-6);
  EXPECT_NEAR(n[1].item<float>(), 0.35f, 1e-6);
  EXPECT_EQ(off.keys, (std::vector<int>{3}));
}

}  // namespace
}  // namespace pm::nn
