// SPDX-License-Identifier: MIT
// Segmentation models, scale scheduling, training and prediction (issue 8; the loss is in
// tests/losses).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>

#include "pseudomask/core/io/image/image_io.h"
#include "pseudomask/core/io/image/label_io.h"
#include "pseudomask/core/urn/urn_png.h"
#include "pseudomask/nn/checkpoint/load.h"
#include "pseudomask/nn/heads/classifier.h"
#include "pseudomask/nn/losses/seg_loss.h"
#include "pseudomask/nn/seg/scale_schedule.h"
#include "pseudomask/nn/seg/seg_augment.h"
#include "pseudomask/nn/seg/seg_model.h"
#include "pseudomask/nn/seg/seg_predict.h"
#include "pseudomask/nn/seg/seg_trainer.h"
#include "support/expect_error.h"
#include "support/test_paths.h"

namespace pm::nn {
namespace {

// ---- scale schedule ----------------------------------------------------------------------

TEST(ScaleSchedule, ParsesCumulativeBoundaries) {
  const auto s = parse_scale_schedule("8:2,4:4,2:6");
  ASSERT_EQ(s.size(), 3u);
  EXPECT_EQ(scale_factor_at(s, 0), 8);
  EXPECT_EQ(scale_factor_at(s, 1), 8);
  EXPECT_EQ(scale_factor_at(s, 2), 4);
  EXPECT_EQ(scale_factor_at(s, 3), 4);
  EXPECT_EQ(scale_factor_at(s, 5), 2);
  EXPECT_EQ(scale_factor_at(s, 6), 1);
  EXPECT_EQ(scale_factor_at(parse_scale_schedule(""), 0), 1);
}

TEST(ScaleSchedule, BadSpecsNameTheProblem) {
  test::expect_error([] { parse_scale_schedule("8-2"); },
                     {"TrainSegOptions::scale_schedule", "FACTOR:EPOCH"});
  test::expect_error([] { parse_scale_schedule("8:x"); },
                     {"TrainSegOptions::scale_schedule", "'x'"});
  test::expect_error([] { parse_scale_schedule("0:2"); }, {"factor 0", ">= 1"});
  test::expect_error([] { parse_scale_schedule("8:4,4:4"); }, {"epoch 4", "increase"});
  test::expect_error([] { parse_label_downsample("mode"); },
                     {"TrainSegOptions::label_downsample", "mode"});
}

LabelMap pattern_labels() {
  // 4x4 in 2x2 blocks: block (0,0) = 3 of label 1 and one 2; block (1,0) all 255;
  // block (0,1) 2 of 7 and 2 of 5 (tie → 5); block (1,1) one 4 and three 255.
  LabelMap m(4, 4);
  const uint8_t v[16] = {1, 1, 255, 255, 1, 2, 255, 255, 7, 5, 4, 255, 7, 5, 255, 255};
  std::copy(v, v + 16, m.labels.begin());
  return m;
}

TEST(ScaleSchedule, MajorityDownsamplingVotesWithinBlocks) {
  const LabelMap out = downsample_labels(pattern_labels(), 2, LabelDownsample::kMajority);
  ASSERT_EQ(out.width, 2);
  ASSERT_EQ(out.height, 2);
  EXPECT_EQ(out.at(0, 0), 1);
  EXPECT_EQ(out.at(1, 0), 255);
  EXPECT_EQ(out.at(0, 1), 5);
  EXPECT_EQ(out.at(1, 1), 4);  // any real label beats ignore
}

TEST(ScaleSchedule, DownsamplingNeverInventsLabels) {
  LabelMap m(37, 23);
  for (size_t i = 0; i < m.labels.size(); ++i)
    m.labels[i] = (i * 7 % 13 < 6) ? static_cast<uint8_t>(3 * (i % 5)) : 255;  // 0,3,6,9,12,255
  for (auto mode : {LabelDownsample::kNearest, LabelDownsample::kMajority}) {
    for (int f : {2, 3, 8}) {
      const LabelMap out = downsample_labels(m, f, mode);
      EXPECT_EQ(out.width, downsampled_side(37, f));
      EXPECT_EQ(out.height, downsampled_side(23, f));
      for (uint8_t l : out.labels)
        EXPECT_TRUE(l == 255 || l % 3 == 0) << "invented label " << int(l);
    }
  }
  EXPECT_EQ(downsampled_side(5, 8), 1);
  EXPECT_EQ(downsampled_side(500, 8), 63);
}

// ---- models ------------------------------------------------------------------------------

TEST(SegModel, OutputStrideEightAndAuxHead) {
  for (const std::string head : {"deeplab-largefov", "deeplabv2", "pspnet"}) {
    SegModelOptions o;
    o.arch = head + "-tiny";
    o.num_classes = 5;
    SegModel m(o);
    m->train();
    const SegOutput out = m->forward(torch::randn({2, 3, 64, 48}));
    EXPECT_EQ(out.logits.sizes(), torch::IntArrayRef({2, 5, 8, 6})) << head;
    EXPECT_EQ(out.aux.defined(), head == "pspnet") << head;
    if (out.aux.defined()) {
      EXPECT_EQ(out.aux.sizes(), torch::IntArrayRef({2, 5, 8, 6}));
    }
    m->eval();
    EXPECT_FALSE(m->forward(torch::randn({1, 3, 64, 48})).aux.defined());
    EXPECT_EQ(m->predict_logits(torch::randn({1, 3, 33, 41})).sizes(),
              torch::IntArrayRef({1, 5, 33, 41}));
  }
}

TEST(SegModel, FullSizeModelsHaveThePublishedShapes) {
  // ResNet-50/101 at output stride 8 with each head, as the papers train them on VOC.
  for (const std::string backbone : {"resnet50", "resnet101"}) {
    for (const std::string head : {"deeplab-largefov", "deeplabv2", "pspnet"}) {
      SegModelOptions o;
      o.arch = head + "-" + backbone;
      o.num_classes = 21;
      SegModel m(o);
      const auto params = m->named_parameters();
      const std::string last_block = backbone == "resnet50" ? "5" : "22";  // layer3: 6 or 23
      EXPECT_NE(params.find("backbone.layer3." + last_block + ".conv3.weight"), nullptr) << o.arch;
      EXPECT_EQ(params["backbone.layer4.2.conv3.weight"].sizes(),
                torch::IntArrayRef({2048, 512, 1, 1}));
      m->train();
      const SegOutput out = m->forward(torch::randn({2, 3, 41, 33}));
      EXPECT_EQ(out.logits.sizes(), torch::IntArrayRef({2, 21, 6, 5})) << o.arch;
      EXPECT_EQ(out.aux.defined(), head == "pspnet") << o.arch;
      if (out.aux.defined()) {
        EXPECT_EQ(out.aux.sizes(), torch::IntArrayRef({2, 21, 6, 5})) << o.arch;
      }
    }
  }
}

TEST(SegModel, BackboneNamesMatchTorchvision) {
  SegModelOptions o;
  o.arch = "deeplabv2-tiny";
  SegModel m(o);
  bool found = false;
  for (const auto& p : m->backbone_parameters())
    found = found || p.first == "backbone.layer4.0.conv2.weight";
  EXPECT_TRUE(found);
  EXPECT_EQ(m->head_parameters().size(), 8u);  // 4 ASPP convs, weight + bias
  test::expect_error(
      [] {
        SegModel bad(SegModelOptions{"deeplabv3-tiny", 21, false});
      },
      {"SegModelOptions::arch", "deeplabv3-tiny"});
}

TEST(SegModel, ArchNamesParseToTypedKinds) {
  const SegArch a = parse_seg_arch("deeplab-largefov-resnet101");
  EXPECT_EQ(a.head, SegHeadKind::kLargeFov);
  EXPECT_EQ(a.backbone, SegBackboneKind::kResNet101);
  const SegArch b = parse_seg_arch("pspnet-tiny");
  EXPECT_EQ(b.head, SegHeadKind::kPspNet);
  EXPECT_EQ(b.backbone, SegBackboneKind::kResNetTiny);
  for (const std::string bad : {"pspnet", "pspnet-resnet18", "-tiny"})
    test::expect_error([&] { parse_seg_arch(bad); }, {"SegModelOptions::arch", bad});
}

TEST(SegModel, HeadsKeepTheirCheckpointKeys) {
  // A head's children sit at the top of the state dict, next to backbone.*, as in the
  // checkpoints train-seg has always written.
  const std::vector<std::pair<std::string, std::vector<std::string>>> cases = {
      {"deeplab-largefov-tiny", {"decode.0.weight", "decode.3.bias", "decode.6.weight"}},
      {"deeplabv2-tiny", {"aspp.0.weight", "aspp.3.bias"}},
      {"pspnet-tiny",
       {"ppm.stages.0.0.weight",
        "ppm.stages.3.1.running_var",
        "decode.0.weight",
        "decode.1.bias",
        "decode.4.weight",
        "aux.1.running_mean",
        "aux.4.bias"}}};
  const std::vector<std::string> tops = {"backbone", "decode", "aspp", "ppm", "aux"};
  for (const auto& [arch, keys] : cases) {
    SegModelOptions o;
    o.arch = arch;
    SegModel m(o);
    const Checkpoint ckpt = state_dict_of(*m);
    for (const std::string& key : keys)
      EXPECT_NE(ckpt.find(key), nullptr) << arch << ": " << key;
    for (const auto& p : m->named_parameters()) {
      const std::string top = p.key().substr(0, p.key().find('.'));
      EXPECT_NE(std::find(tops.begin(), tops.end(), top), tops.end()) << arch << ": " << p.key();
    }
  }
}

TEST(SegModel, BackboneLoadsFromAStageOneClassifierCheckpoint) {
  // train-seg --pretrained cls/model.pth: the classifier's backbone.* initialises the segmentation
  // backbone; its image-level head is left out.
  ClassifierOptions co;
  co.arch = "resnet-tiny";
  co.num_classes = 10;
  Classifier cls(co);
  const Checkpoint ckpt = state_dict_of(*cls);
  ASSERT_NE(ckpt.find("classifier.weight"), nullptr);
  SegModelOptions o;
  o.arch = "pspnet-tiny";
  o.num_classes = 11;
  SegModel m(o);
  m->load_pretrained_backbone(ckpt, "cls.pth");
  const auto cls_params = cls->named_parameters();
  for (const auto& p : m->backbone_parameters()) {
    const torch::Tensor* src = cls_params.find(p.first);
    ASSERT_NE(src, nullptr) << p.first;
    EXPECT_TRUE(torch::equal(p.second, *src)) << p.first;
  }
}

// ---- predict -----------------------------------------------------------------------------

TEST(SegPredict, ProbabilitiesSumToOneWithScalesFlipAndWindows) {
  torch::manual_seed(1);
  SegModelOptions o;
  o.arch = "deeplabv2-tiny";
  o.num_classes = 4;
  SegModel m(o);
  m->eval();
  RgbImage img(50, 37);
  for (size_t i = 0; i < img.pixels.size(); ++i)
    img.pixels[i] = static_cast<uint8_t>(i * 31 % 251);
  PredictOptions p;
  p.scales = {0.75, 1.0, 1.5};
  p.flip = true;
  p.window = 32;
  const torch::Tensor probs = predict_probabilities(m, img, p, torch::kCPU);
  ASSERT_EQ(probs.sizes(), torch::IntArrayRef({4, 37, 50}));
  EXPECT_LT((probs.sum(0) - 1).abs().max().item<float>(), 1e-5f);
  // A single window larger than the image equals whole-image inference.
  PredictOptions whole, big;
  big.window = 64;
  EXPECT_TRUE(torch::allclose(predict_probabilities(m, img, whole, torch::kCPU),
                              predict_probabilities(m, img, big, torch::kCPU)));
  const LabelMap lab = argmax_labels(probs);
  EXPECT_EQ(lab.width, 50);
  EXPECT_EQ(lab.at(3, 4), probs.select(2, 3).select(1, 4).argmax().item<int64_t>());
}

TEST(SegPredict, ScalesAreRatiosOfTheOriginalSizeOrOfAFixedScale) {
  // mmseg: 500×375 at ratio 1 of 2048×512 → factor min(2048/500, 512/375) → 683×512.
  const RescaleBase mmseg = parse_rescale_base("2048x512", "f");
  EXPECT_EQ(rescaled_size(500, 375, 1.0, mmseg), std::make_pair(683, 512));
  EXPECT_EQ(rescaled_size(500, 375, 0.5, mmseg), std::make_pair(341, 256));  // 341.3, 256
  EXPECT_EQ(rescaled_size(375, 500, 1.0, mmseg), std::make_pair(512, 683));  // portrait
  // A very wide image is bound by the long edge: 3000×500 at ratio 0.5 → 1024/3000.
  EXPECT_EQ(rescaled_size(3000, 500, 0.5, mmseg), std::make_pair(1024, 171));
  EXPECT_EQ(rescaled_size(500, 375, 1.0, RescaleBase{}), std::make_pair(500, 375));
  EXPECT_EQ(rescaled_size(500, 375, 0.5, RescaleBase{}), std::make_pair(250, 188));
  EXPECT_EQ(parse_rescale_base("512x2048", "f").long_side, 2048);
  EXPECT_FALSE(parse_rescale_base("original", "f").fixed());
  EXPECT_EQ(rescale_base_name(mmseg), "2048x512");
  // Scale scheduling at 1/8: the fixed scale shrinks with the images (256x64), so a 500x375
  // image downsampled to 63x47 comes out at 86x64, about 1/8 of the full-size 683x512.
  const RescaleBase eighth = downsampled_base(mmseg, 8);
  EXPECT_EQ(rescale_base_name(eighth), "256x64");
  EXPECT_EQ(rescaled_size(63, 47, 1.0, eighth), std::make_pair(86, 64));
  EXPECT_FALSE(downsampled_base(RescaleBase{}, 8).fixed());
  EXPECT_EQ(rescale_base_name(downsampled_base(mmseg, 1)), "2048x512");
  for (const char* bad : {"2048", "x512", "2048x", "0x512", "2048x512x", "ax5"})
    test::expect_error([&] { parse_rescale_base(bad, "--scale-base"); },
                       {"--scale-base", bad, "2048x512"});

  // predict: ratio 1 of an 80×20 scale on a 40×30 image is 27×20, which ratio 2/3 of the
  // original size also gives; ratio 1 of the original size is another input.
  torch::manual_seed(2);
  SegModelOptions o;
  o.arch = "deeplabv2-tiny";
  o.num_classes = 3;
  SegModel m(o);
  m->eval();
  RgbImage img(40, 30);
  for (size_t i = 0; i < img.pixels.size(); ++i)
    img.pixels[i] = static_cast<uint8_t>(i * 37 % 253);
  PredictOptions fixed, ratio, plain;
  fixed.scale_base = parse_rescale_base("80x20", "f");
  ratio.scales = {2.0 / 3.0};
  const torch::Tensor a = predict_probabilities(m, img, fixed, torch::kCPU);
  EXPECT_TRUE(torch::equal(a, predict_probabilities(m, img, ratio, torch::kCPU)));
  EXPECT_FALSE(torch::allclose(a, predict_probabilities(m, img, plain, torch::kCPU)));
}

TEST(SegAugment, FixedScaleRescalesKeepingTheAspect) {
  // A 40×30 image, ratio 1 of 80×20 → 27×20 labelled pixels in a 48×48 crop (the rest padding).
  SegSampleData s{RgbImage(40, 30), LabelMap(40, 30, 1), {}};
  SegAugmentOptions o;
  o.scale_min = o.scale_max = 1.0;
  o.flip = false;
  const int crop = 48;
  std::vector<float> image(3 * crop * crop), weights(crop * crop);
  std::vector<int64_t> labels(crop * crop);
  auto labelled = [&] {
    Rng rng(1);
    augment_seg_sample(s, o, crop, rng, {image.data(), labels.data(), weights.data()});
    return std::count(labels.begin(), labels.end(), 1);
  };
  EXPECT_EQ(labelled(), 40 * 30);
  o.scale_base = parse_rescale_base("80x20", "f");
  EXPECT_EQ(labelled(), 27 * 20);
}

TEST(SegAugment, CatMaxRatioRetriesCropsDominatedByOneLabel) {
  // 64×32 labels: class 1 on the left half, class 2 on the right; a 32×32 crop at x0 holds x0
  // columns of class 2, so it passes cat_max_ratio 0.75 only for 8 < x0 < 24 (15 of 33 offsets).
  SegSampleData s{RgbImage(64, 32), LabelMap(64, 32, 1), {}};
  for (int y = 0; y < 32; ++y)
    for (int x = 32; x < 64; ++x)
      s.labels.at(x, y) = 2;
  SegAugmentOptions o;
  o.scale_min = o.scale_max = 1.0;
  o.flip = false;
  o.jitter = ColorJitter{0, 0, 0, 0};
  const int crop = 32;
  std::vector<float> image(3 * crop * crop), weights(crop * crop);
  std::vector<int64_t> labels(crop * crop);
  auto mixed_crops = [&] {
    int mixed = 0;
    for (uint64_t seed = 0; seed < 24; ++seed) {
      Rng rng(seed);
      augment_seg_sample(s, o, crop, rng, {image.data(), labels.data(), weights.data()});
      const auto twos = std::count(labels.begin(), labels.end(), 2);
      mixed += twos > crop * crop / 4 && twos < crop * crop * 3 / 4 ? 1 : 0;
    }
    return mixed;
  };
  EXPECT_LT(mixed_crops(), 20);  // one draw: about 45 % pass
  o.cat_max_ratio = 0.75;
  EXPECT_EQ(mixed_crops(), 24);  // ten tries: all but about 0.3 % pass
  EXPECT_TRUE(crop_is_mixed(s.labels, 16, 0, 32, 0.75));
  EXPECT_FALSE(crop_is_mixed(s.labels, 0, 0, 32, 0.75));  // one label only
  EXPECT_FALSE(crop_is_mixed(s.labels, 4, 0, 32, 0.75));  // 28 of 32 columns class 1
  o.cat_max_ratio = 0;
  test::expect_error([&] { o.validate(); }, {"SegAugmentOptions::cat_max_ratio"});
}

// ---- training ----------------------------------------------------------------------------

/// Images with a bright square (class 1) or dark square (class 2) on grey, and their masks.
std::vector<SegTrainSample> write_tiny_seg_set(const std::string& dir, int n) {
  std::filesystem::create_directories(dir);
  std::vector<SegTrainSample> out;
  for (int i = 0; i < n; ++i) {
    RgbImage img(32, 32);
    LabelMap lab(32, 32, 0);
    std::fill(img.pixels.begin(), img.pixels.end(), 128);
    const int cls = 1 + i % 2, x0 = (i * 5) % 16, y0 = (i * 3) % 16;
    for (int y = y0; y < y0 + 14; ++y)
      for (int x = x0; x < x0 + 14; ++x) {
        for (int c = 0; c < 3; ++c)
          img.pixels[(y * 32 + x) * 3 + c] = cls == 1 ? 240 : 10;
        lab.at(x, y) = static_cast<uint8_t>(cls);
      }
    const std::string id = "s" + std::to_string(i);
    write_png_rgb(dir + "/" + id + ".png", img);
    write_label_png(dir + "/" + id + "_m.png", lab);
    WeightMap wb(32, 32, 255);
    wb.bytes[0] = 10;  // one uncertain pixel, (0, 0)
    write_urn_png(dir + "/" + id + "_u.png", lab, wb);
    out.push_back(
        {id, dir + "/" + id + ".png", dir + "/" + id + "_m.png", dir + "/" + id + "_u.png"});
  }
  return out;
}

TrainSegOptions tiny_options(const std::string& out) {
  TrainSegOptions o;
  o.model.arch = "deeplabv2-tiny";
  o.model.num_classes = 3;
  o.out_dir = out;
  o.iterations = 12;
  o.batch_size = 4;
  o.lr = 0.05;
  o.min_lr = 0;
  o.augment.crop = 32;
  o.augment.scale_min = 0.75;
  o.augment.scale_max = 1.25;
  o.threads = 1;
  o.workers = 1;
  o.seed = 3;
  return o;
}

TEST(SegTrainer, LossDecreasesAndSeedsReproduce) {
  test::TempDir dir("seg_train");
  const auto samples = write_tiny_seg_set(dir.str() + "/data", 8);
  std::vector<SegValSample> val;
  for (int i = 0; i < 2; ++i)
    val.push_back({samples[i].id, samples[i].image_path, samples[i].label_path});
  TrainSegOptions o = tiny_options(dir.str() + "/a");
  o.scale_schedule = "2:1";  // first epoch (2 steps) at half size
  o.keep_best = true;
  const TrainSegResult a = train_segmentation(samples, val, o);
  ASSERT_EQ(a.steps.size(), 12u);
  EXPECT_EQ(a.steps[0].scale, 2);
  EXPECT_EQ(a.steps[2].scale, 1);
  double first = 0, last = 0;
  for (int i = 0; i < 3; ++i) {
    first += a.steps[i].loss;
    last += a.steps[a.steps.size() - 1 - i].loss;
  }
  EXPECT_LT(last, first * 0.8);
  EXPECT_TRUE(a.finished);
  EXPECT_TRUE(std::filesystem::exists(o.out_dir + "/model.pth"));
  EXPECT_TRUE(std::filesystem::exists(o.out_dir + "/best.pth"));
  ASSERT_EQ(a.validations.size(), 1u);
  EXPECT_GE(a.validations[0].miou, 0.0);

  // Same seed, same losses; a stopped-and-resumed run continues the same schedule.
  o.out_dir = dir.str() + "/b";
  o.stop_after = 5;
  const TrainSegResult b1 = train_segmentation(samples, val, o);
  o.stop_after = 0;
  o.resume = true;
  const TrainSegResult b2 = train_segmentation(samples, val, o);
  ASSERT_EQ(b1.steps.size() + b2.steps.size(), 12u);
  EXPECT_EQ(b2.start_step, 5);
  for (int i = 0; i < 5; ++i)
    EXPECT_DOUBLE_EQ(b1.steps[i].loss, a.steps[i].loss);
  EXPECT_NEAR(b2.steps[0].loss, a.steps[5].loss, 1e-4 * a.steps[5].loss);

  const SegModel m = load_seg_model(o.out_dir + "/model.pth");
  EXPECT_EQ(m->options().num_classes, 3);
}

TEST(SegTrainer, UrnWeightsAndErrors) {
  test::TempDir dir("seg_urn");
  auto samples = write_tiny_seg_set(dir.str() + "/data", 4);
  LabelMap labels;
  SegTrainSample s = samples[0];
  s.label_path.clear();
  const auto w = read_loss_weights(s, WeightSource::kUrnPng, 0.05, &labels);
  ASSERT_EQ(w.size(), 32u * 32u);
  EXPECT_FLOAT_EQ(w[0], 0.05f);  // 10/255 ≤ 0.05 → t
  EXPECT_FLOAT_EQ(w[1], 1.0f);
  EXPECT_EQ(labels.labels, read_label_png(samples[0].label_path).labels);  // M_c from channel B
  EXPECT_NEAR(read_loss_weights(s, WeightSource::kUrnPng, -1, nullptr)[0], 10 / 255.0, 1e-6);

  TrainSegOptions o = tiny_options(dir.str() + "/out");
  o.weight_source = WeightSource::kUrnPng;
  o.iterations = 2;
  EXPECT_EQ(train_segmentation(samples, {}, o).steps.size(), 2u);

  o.weight_source = WeightSource::kNone;
  o.model.num_classes = 2;  // label 2 out of range
  test::expect_error([&] { train_segmentation(samples, {}, o); }, {"_m.png", "label 2"});
  o.model.num_classes = 3;
  o.epochs = 1;
  test::expect_error([&] { train_segmentation(samples, {}, o); }, {"exactly one budget"});
  test::expect_error([&] { load_seg_model(samples[0].image_path); }, {samples[0].image_path});
}

}  // namespace
}  // namespace pm::nn
