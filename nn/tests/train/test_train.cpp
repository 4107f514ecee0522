// SPDX-License-Identifier: MIT
// Classifier training on a tiny generated dataset: the loss falls, a seed gives the same loss
// sequence, and a run stopped and resumed equals an uninterrupted one.
#include <gtest/gtest.h>

#include <torch/nn/functional/loss.h>

#include <cmath>
#include <filesystem>
#include <fstream>

#include "pseudomask/core/io/torch/checkpoint.h"
#include "pseudomask/nn/tensor.h"
#include "pseudomask/nn/train/augment.h"
#include "pseudomask/nn/train/cls_trainer.h"
#include "pseudomask/nn/train/sgd.h"
#include "support/expect_error.h"
#include "support/test_paths.h"
#include "support/tiny_dataset.h"

namespace pm::nn {
namespace {

TrainClsOptions tiny_options(const std::string& out) {
  TrainClsOptions o;
  o.model.arch = "resnet-tiny";
  o.model.num_classes = 3;
  o.model.frozen_bn = false;
  o.out_dir = out;
  o.epochs = 6;
  o.batch_size = 4;
  o.lr = 0.05;
  o.augment.crop = 32;
  o.augment.resize_long_min = 28;
  o.augment.resize_long_max = 36;
  o.threads = 1;
  o.workers = 2;
  o.seed = 7;
  return o;
}

std::vector<double> losses(const TrainClsResult& r) {
  std::vector<double> v;
  for (const auto& s : r.steps)
    v.push_back(s.loss);
  return v;
}

double mean(const std::vector<double>& v, size_t from, size_t to) {
  double s = 0;
  for (size_t i = from; i < to; ++i)
    s += v[i];
  return s / static_cast<double>(to - from);
}

TEST(TrainCls, LossFallsAndTheSeedFixesTheLossSequence) {
  test::TempDir dir("train");
  const auto samples = test::tiny_samples(dir / "images", 16);
  const TrainClsResult a = train_classifier(samples, tiny_options(dir / "a"));
  ASSERT_EQ(a.steps.size(), 24u);  // 16 / 4 steps per epoch, 6 epochs
  EXPECT_TRUE(a.finished);
  const auto la = losses(a);
  EXPECT_LT(mean(la, 20, 24), 0.8 * mean(la, 0, 4)) << "first " << la[0] << ", last " << la[23];
  // IRN's poly schedule: lr_t = 0.05 (1 - t/24)^0.9.
  EXPECT_NEAR(a.steps[12].lr, 0.05 * std::pow(0.5, 0.9), 1e-12);

  const TrainClsResult b = train_classifier(samples, tiny_options(dir / "b"));
  EXPECT_EQ(la, losses(b));
  TrainClsOptions other = tiny_options(dir / "c");
  other.seed = 8;
  EXPECT_NE(la, losses(train_classifier(samples, other)));
  // The worker count does not change the batches.
  TrainClsOptions one_worker = tiny_options(dir / "d");
  one_worker.workers = 1;
  one_worker.stop_after = 4;
  const auto ld = losses(train_classifier(samples, one_worker));
  EXPECT_EQ(ld, std::vector<double>(la.begin(), la.begin() + 4));
}

TEST(TrainCls, ResumeContinuesExactlyLikeAnUninterruptedRun) {
  test::TempDir dir("resume");
  const auto samples = test::tiny_samples(dir / "images", 12);
  TrainClsOptions full = tiny_options(dir / "full");
  full.epochs = 3;
  const TrainClsResult whole = train_classifier(samples, full);
  ASSERT_EQ(whole.steps.size(), 9u);

  TrainClsOptions part = tiny_options(dir / "part");
  part.epochs = 3;
  part.stop_after = 4;  // mid-epoch: momentum, step and data order must all come back
  const TrainClsResult first = train_classifier(samples, part);
  EXPECT_FALSE(first.finished);
  EXPECT_FALSE(std::filesystem::exists(dir / "part/model.pth"));
  part.stop_after = 0;
  part.resume = true;
  const TrainClsResult second = train_classifier(samples, part);
  EXPECT_EQ(second.start_step, 4);
  std::vector<double> joined = losses(first);
  for (double l : losses(second))
    joined.push_back(l);
  EXPECT_EQ(joined, losses(whole));

  const Checkpoint a = read_checkpoint(dir / "full/model.pth");
  const Checkpoint b = read_checkpoint(dir / "part/model.pth");
  ASSERT_EQ(a.tensors.size(), b.tensors.size());
  for (size_t i = 0; i < a.tensors.size(); ++i)
    EXPECT_TRUE(torch::equal(to_tensor(a.tensors[i].second), to_tensor(b.tensors[i].second)))
        << a.tensors[i].first;
  EXPECT_EQ(*b.find_metadata("arch"), "resnet-tiny");
  // The log holds every step once, the resumed ones after the first run's.
  std::ifstream log(dir / "part/train_log.csv");
  int lines = 0;
  for (std::string line; std::getline(log, line);)
    ++lines;
  EXPECT_EQ(lines, 1 + 9);

  // A trained model loads back with its architecture from the metadata.
  Classifier m = load_classifier(dir / "part/model.pth");
  EXPECT_EQ(m->options().num_classes, 3);
  EXPECT_FALSE(m->is_training());
}

TEST(TrainCls, ResumeWithOtherScheduleIsRefused) {
  test::TempDir dir("resume_bad");
  const auto samples = test::tiny_samples(dir / "images", 8);
  TrainClsOptions o = tiny_options(dir / "out");
  o.epochs = 2;
  o.stop_after = 1;
  train_classifier(samples, o);
  o.epochs = 3;
  o.resume = true;
  test::expect_error([&] { train_classifier(samples, o); },
                     {"last.pth", "schedule has 4 steps", "give 6"});
}

TEST(TrainCls, BadOptionsAndDataGiveOneLineErrors) {
  test::TempDir dir("bad");
  auto samples = test::tiny_samples(dir / "images", 4);
  TrainClsOptions o = tiny_options(dir / "out");
  o.batch_size = 8;
  test::expect_error([&] { train_classifier(samples, o); }, {"batch_size 8", "only 4 images"});
  o = tiny_options(dir / "out");
  o.epochs = 0;  // the field, not the flag: the CLI names its flags
  test::expect_error([&] { train_classifier(samples, o); }, {"TrainClsOptions::epochs 0"});
  o = tiny_options(dir / "out");
  o.model.arch = "resnet18";
  test::expect_error([&] { train_classifier(samples, o); },
                     {"ClassifierOptions::arch resnet18", "unknown"});
  o = tiny_options(dir / "out");
  samples[2].labels = {5};
  test::expect_error([&] { train_classifier(samples, o); }, {"img2", "class 5", "0..2"});
  samples[2].labels = {1};
  samples[1].image_path = dir / "missing.png";
  test::expect_error([&] { train_classifier(samples, o); }, {"missing.png"});
}

TEST(PolySgd, MatchesTorchSgdWithMomentumAndWeightDecay) {
  // Two steps by hand: g = 2p (loss p²), wd 0.1, momentum 0.5, constant lr (power 0).
  torch::Tensor p = torch::tensor({1.0, -2.0}, torch::kFloat64).set_requires_grad(true);
  PolySgd sgd({{{{"p", p}}, 1.0}}, {0.1, 0.5, 0.1, 0.0, 100});
  double want[2] = {1.0, -2.0}, buf[2] = {0, 0};
  for (int step = 0; step < 2; ++step) {
    sgd.zero_grad();
    (p * p).sum().backward();
    sgd.step(step);
    for (int i = 0; i < 2; ++i) {
      const double d = 2 * want[i] + 0.1 * want[i];
      buf[i] = step == 0 ? d : 0.5 * buf[i] + d;
      want[i] -= 0.1 * buf[i];
    }
  }
  EXPECT_NEAR(p[0].item<double>(), want[0], 1e-12);
  EXPECT_NEAR(p[1].item<double>(), want[1], 1e-12);
}

TEST(PolySgd, CosineScheduleAnnealsFromLrToTheFloor) {
  torch::Tensor p = torch::zeros({1}, torch::kFloat64).set_requires_grad(true);
  SgdOptions o;
  o.lr = 1e-3;
  o.total_steps = 100;
  o.schedule = LrSchedule::kCosine;
  const PolySgd cosine({{{{"p", p}}, 1.0}}, o);
  // torch CosineAnnealingLR(T_max = 100, eta_min = 0): lr (1 + cos(π t / 100)) / 2.
  EXPECT_DOUBLE_EQ(cosine.lr_at(0), 1e-3);
  EXPECT_NEAR(cosine.lr_at(25), 1e-3 * (1 + std::sqrt(0.5)) / 2, 1e-15);
  EXPECT_NEAR(cosine.lr_at(50), 0.5e-3, 1e-15);
  EXPECT_NEAR(cosine.lr_at(75), 1e-3 * (1 - std::sqrt(0.5)) / 2, 1e-15);
  EXPECT_EQ(cosine.lr_at(100), 0.0);
  o.min_lr = 1e-4;
  const PolySgd floored({{{{"p", p}}, 1.0}}, o);
  EXPECT_NEAR(floored.lr_at(50), 1e-4 + 0.9e-3 / 2, 1e-15);
  EXPECT_DOUBLE_EQ(floored.lr_at(100), 1e-4);
  // Poly stays the default: at half way lr · 0.5^0.9, not lr / 2.
  o.schedule = LrSchedule::kPoly;
  o.min_lr = 0;
  EXPECT_NEAR(PolySgd({{{{"p", p}}, 1.0}}, o).lr_at(50), 1e-3 * std::pow(0.5, 0.9), 1e-15);
  EXPECT_EQ(parse_lr_schedule("cosine", "f"), LrSchedule::kCosine);
  test::expect_error([] { parse_lr_schedule("step", "TrainClsOptions::lr_schedule"); },
                     {"TrainClsOptions::lr_schedule", "'step'", "poly or cosine"});
}

TEST(TrainCls, CosineScheduleReachesTheSteps) {
  test::TempDir dir("train_cosine");
  const auto samples = test::tiny_samples(dir / "images", 8);
  TrainClsOptions o = tiny_options(dir / "a");
  o.lr_schedule = LrSchedule::kCosine;
  o.stop_after = 7;
  const TrainClsResult r = train_classifier(samples, o);
  ASSERT_GE(r.steps.size(), 7u);
  const double total = static_cast<double>(r.total_steps);
  EXPECT_NEAR(r.steps[6].lr, 0.05 * (1 + std::cos(3.14159265358979323846 * 6 / total)) / 2, 1e-12);
}

TEST(Augment, SameSeedSameSampleAndCanvasPadding) {
  const RgbImage img = test::tiny_image({0}, 3, 40);
  AugmentOptions o;
  o.resize_long_min = o.resize_long_max = 20;  // 20 x 20 image in a 32 x 32 canvas
  o.crop = 32;
  std::vector<float> a(3 * 32 * 32), b(a.size());
  Rng r1(5), r2(5);
  augment_image(img, o, r1, a.data());
  augment_image(img, o, r2, b.data());
  EXPECT_EQ(a, b);
  // 32² - 20² canvas pixels per channel stay exactly 0 (the mean colour after normalisation).
  size_t zeros = 0;
  for (size_t i = 0; i < 32 * 32; ++i)
    zeros += a[i] == 0.0f;
  EXPECT_EQ(zeros, 32u * 32u - 20u * 20u);
}

TEST(Augment, NormalisationUsesImageNetStatistics) {
  RgbImage img(1, 1);
  img.pixels = {255, 0, 128};
  float out[3];
  normalize_image(img, out);
  EXPECT_NEAR(out[0], (1.0f - 0.485f) / 0.229f, 1e-6);
  EXPECT_NEAR(out[1], (0.0f - 0.456f) / 0.224f, 1e-6);
  EXPECT_NEAR(out[2], (128.0f / 255.0f - 0.406f) / 0.225f, 1e-6);
}

TEST(Augment, ColorJitterWithZeroStrengthIsIdentityAndHueKeepsGrey) {
  std::vector<float> rgb = {0.2f, 0.5f, 0.9f, 0.4f, 0.4f, 0.4f};
  const std::vector<float> before = rgb;
  Rng rng(1);
  color_jitter(rgb, ColorJitter{0, 0, 0, 0}, rng);
  for (size_t i = 0; i < rgb.size(); ++i)
    EXPECT_NEAR(rgb[i], before[i], 1e-6);
  Rng rng2(2);
  color_jitter(rgb, ColorJitter{0, 0, 0, 0.5f}, rng2);  // hue only: grey stays grey
  EXPECT_NEAR(rgb[3], 0.4f, 1e-6);
  EXPECT_NEAR(rgb[4], 0.4f, 1e-6);
  EXPECT_NEAR(rgb[5], 0.4f, 1e-6);
  // A hue shift keeps the value (max) and the saturation of a colour.
  EXPECT_NEAR(std::max({rgb[0], rgb[1], rgb[2]}), 0.9f, 1e-5);
  EXPECT_NEAR(std::min({rgb[0], rgb[1], rgb[2]}), 0.2f, 1e-5);
}

}  // namespace
}  // namespace pm::nn
