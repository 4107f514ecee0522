// SPDX-License-Identifier: MIT
// IRN training on the shared loop (issue 20): the two learning-rate groups, the frozen backbone,
// exact resume, the log and the model file.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>

#include "pseudomask/core/io/image/image_io.h"
#include "pseudomask/core/io/image/label_io.h"
#include "pseudomask/core/io/torch/checkpoint.h"
#include "pseudomask/nn/checkpoint/load.h"
#include "pseudomask/nn/irn/irn_trainer.h"
#include "support/expect_error.h"
#include "support/test_paths.h"

namespace pm::nn {
namespace {

/// `n` 72×64 images with a bright square of class 1 or 2 on a dark background, and IR labels
/// with an unsure (255) ring around the square.
std::vector<IrnTrainSample> write_irn_set(const std::string& dir, int n) {
  std::filesystem::create_directories(dir);
  std::vector<IrnTrainSample> samples;
  for (int i = 0; i < n; ++i) {
    const int w = 72, h = 64, x0 = 8 + 5 * i, y0 = 6 + 3 * i, side = 28;
    const uint8_t cls = static_cast<uint8_t>(1 + i % 2);
    RgbImage img(w, h);
    LabelMap lab(w, h, 0);
    for (int y = 0; y < h; ++y)
      for (int x = 0; x < w; ++x) {
        const bool in = x >= x0 && x < x0 + side && y >= y0 && y < y0 + side;
        const bool ring = x >= x0 - 2 && x < x0 + side + 2 && y >= y0 - 2 && y < y0 + side + 2;
        uint8_t* p = &img.pixels[(static_cast<size_t>(y) * w + x) * 3];
        p[0] = in ? (cls == 1 ? 230 : 30) : 20;
        p[1] = in ? (cls == 2 ? 230 : 30) : 25;
        p[2] = static_cast<uint8_t>(40 + (x * 3 + y) % 16);
        lab.labels[static_cast<size_t>(y) * w + x] = in ? cls : ring ? kIgnoreLabel : 0;
      }
    IrnTrainSample s;
    s.id = "s" + std::to_string(i);
    s.image_path = dir + "/" + s.id + ".png";
    s.label_path = dir + "/" + s.id + "_ir.png";
    write_png_rgb(s.image_path, img);
    write_label_png(s.label_path, lab);
    samples.push_back(s);
  }
  return samples;
}

TrainIrnOptions tiny_options(const std::string& out) {
  TrainIrnOptions o;
  o.net.backbone = "resnet-tiny";
  o.out_dir = out;
  o.iterations = 4;
  o.batch_size = 2;
  o.augment.crop = 48;
  o.augment.radius = 5;
  o.num_classes = 3;
  o.workers = 1;
  o.threads = 1;
  o.seed = 7;
  return o;
}

std::map<std::string, torch::Tensor> parameters_of(IrnNet& net) {
  std::map<std::string, torch::Tensor> out;
  for (const auto& p : net->named_parameters())
    out[p.key()] = p.value().detach().clone();
  return out;
}

std::string read_text(const std::string& path) {
  std::ifstream in(path);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

TEST(IrnTrainer, DisplacementBranchStepsAtTheLrMultipleAndTheBackboneStaysFrozen) {
  test::TempDir dir("irn_train_groups");
  const auto samples = write_irn_set(dir / "data", 2);
  TrainIrnOptions o = tiny_options(dir / "x10");
  o.iterations = 1;
  o.momentum = 0;
  o.weight_decay = 0;
  torch::manual_seed(o.seed);  // the trainer seeds torch the same way before building the net
  IrnNet init(o.net);
  const auto before = parameters_of(init);
  train_irn(samples, o);
  IrnNet x10 = load_irn_model(o.out_dir + "/model.pth");
  o.out_dir = dir / "x1";
  o.dp_lr_mult = 1;
  train_irn(samples, o);
  IrnNet x1 = load_irn_model(o.out_dir + "/model.pth");
  const auto after10 = parameters_of(x10), after1 = parameters_of(x1);
  int edge = 0, dp = 0, backbone = 0;
  for (const auto& [name, p0] : before) {
    SCOPED_TRACE(name);
    const torch::Tensor d10 = after10.at(name) - p0, d1 = after1.at(name) - p0;
    if (name.rfind("backbone.", 0) == 0) {
      EXPECT_EQ(d10.abs().max().item<float>(), 0.0f);
      ++backbone;
    } else if (name.rfind("fc_dp", 0) == 0) {
      // atol: a step of a GroupNorm weight near 1 is resolved to float32's 1.2e-7 there.
      EXPECT_TRUE(torch::allclose(d10, 10 * d1, 1e-3, 2e-6));
      dp += d1.abs().max().item<float>() > 1e-4 ? 1 : 0;
    } else {
      EXPECT_TRUE(torch::allclose(d10, d1, 1e-4, 2e-7));
      edge += d1.abs().max().item<float>() > 1e-4 ? 1 : 0;
    }
  }
  EXPECT_GT(backbone, 0);
  EXPECT_GT(dp, 0);
  EXPECT_GT(edge, 0);
}

TEST(IrnTrainer, ResumedRunEqualsAnUnbrokenOne) {
  test::TempDir dir("irn_train_resume");
  const auto samples = write_irn_set(dir / "data", 4);
  TrainIrnOptions o = tiny_options(dir / "a");
  const TrainIrnResult a = train_irn(samples, o);
  ASSERT_EQ(a.steps.size(), 4u);
  EXPECT_TRUE(a.finished);
  for (const IrnStepLog& s : a.steps) {
    EXPECT_GT(s.neg_aff, 0);
    EXPECT_GT(s.pos_aff, 0);
    EXPECT_NEAR(s.loss, (s.pos_aff + s.neg_aff) / 2 + (s.dp_fg + s.dp_bg) / 2, 1e-5);
  }
  const std::string log = read_text(o.out_dir + "/train_log.csv");
  EXPECT_EQ(log.rfind("step,epoch,pos_aff,neg_aff,dp_fg,dp_bg,loss,lr\n", 0), 0u);

  o.out_dir = dir / "b";
  o.stop_after = 2;
  const TrainIrnResult b1 = train_irn(samples, o);
  EXPECT_FALSE(b1.finished);
  o.stop_after = 0;
  o.resume = true;
  const TrainIrnResult b2 = train_irn(samples, o);
  EXPECT_EQ(b2.start_step, 2);
  EXPECT_EQ(read_text(o.out_dir + "/train_log.csv"), log);
  IrnNet ma = load_irn_model(dir / "a/model.pth"), mb = load_irn_model(dir / "b/model.pth");
  const auto pa = parameters_of(ma), pb = parameters_of(mb);
  for (const auto& [name, t] : pa)
    EXPECT_TRUE(torch::equal(t, pb.at(name))) << name;

  // Another crop cannot continue this schedule's checkpoint.
  o.augment.crop = 52;
  test::expect_error([&] { train_irn(samples, o); }, {"crop"});
}

TEST(IrnTrainer, ModelFileKnowsItsNetworkAndBadOptionsAreNamed) {
  test::TempDir dir("irn_train_model");
  const auto samples = write_irn_set(dir / "data", 2);
  TrainIrnOptions o = tiny_options(dir / "m");
  o.iterations = 1;
  train_irn(samples, o);
  IrnNet net = load_irn_model(o.out_dir + "/model.pth");
  EXPECT_EQ(net->options().backbone, "resnet-tiny");
  EXPECT_FALSE(net->is_training());
  const torch::Tensor b = irn_boundary(net, torch::zeros({3, 40, 52}));
  EXPECT_EQ(b.sizes(), (std::vector<int64_t>{10, 13}));

  test::expect_error([&] { load_irn_model(samples[0].label_path); }, {samples[0].label_path});
  TrainIrnOptions bad = tiny_options(dir / "bad");
  bad.batch_size = 0;
  test::expect_error([&] { bad.validate(); }, {"TrainIrnOptions::batch_size 0"});
  bad = tiny_options(dir / "bad");
  bad.dp_lr_mult = 0;
  test::expect_error([&] { bad.validate(); }, {"TrainIrnOptions::dp_lr_mult 0"});
  bad = tiny_options(dir / "bad");
  bad.iterations = 0;
  bad.epochs = 0;
  test::expect_error([&] { bad.validate(); }, {"TrainIrnOptions::iterations/epochs"});
}

TEST(IrnTrainer, ModelsWithoutOurMetadataLoadAsIrnsResNet50) {
  // The public IRN code's res50_irn.pth has no metadata: load_irn_model builds IRN's network and
  // loads it by name (load_irn_weights); here a file of IrnNet's own keys stands in for it.
  test::TempDir dir("irn_model_plain");
  torch::manual_seed(3);
  IrnNet ref{IrnNetOptions{}};
  write_checkpoint(dir / "plain.pth", state_dict_of(*ref));
  IrnNet loaded = load_irn_model(dir / "plain.pth");
  EXPECT_EQ(loaded->options().backbone, "resnet50");
  const auto a = parameters_of(ref), b = parameters_of(loaded);
  ASSERT_EQ(a.size(), b.size());
  for (const auto& [name, t] : a)
    EXPECT_TRUE(torch::equal(t, b.at(name))) << name;

  // Another pseudomask model is refused by its metadata.
  Checkpoint other = state_dict_of(*ref);
  other.metadata = {{"format", "pseudomask-segmenter"}};
  write_checkpoint(dir / "seg.pth", other);
  test::expect_error(
      [&] { load_irn_model(dir / "seg.pth"); },
      {"seg.pth", "metadata format is 'pseudomask-segmenter', expected 'pseudomask-irn'"});
}

}  // namespace
}  // namespace pm::nn
