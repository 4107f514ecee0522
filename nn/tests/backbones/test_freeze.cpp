// SPDX-License-Identifier: MIT
// mmseg's norm_eval and frozen_stages on every backbone (FreezeOptions): after a training step,
// BatchNorm statistics under norm_eval and everything in a frozen stage are unchanged bit for
// bit, while the rest (BatchNorm's affine weights included) has moved.
#include <gtest/gtest.h>

#include <torch/nn/modules/batchnorm.h>

#include <map>
#include <string>

#include "pseudomask/core/common/error.h"
#include "pseudomask/nn/backbones/res2net.h"
#include "pseudomask/nn/backbones/resnet.h"
#include "pseudomask/nn/backbones/resnet38d.h"
#include "pseudomask/nn/backbones/vgg.h"
#include "pseudomask/nn/backbones/vit.h"
#include "pseudomask/nn/heads/classifier.h"
#include "pseudomask/nn/seg/seg_model.h"
#include "pseudomask/nn/train/sgd.h"
#include "support/expect_error.h"

namespace pm::nn {
namespace {

using Tensors = std::map<std::string, torch::Tensor>;

/// Copies of every parameter and buffer, by name.
Tensors snapshot(const torch::nn::Module& m) {
  Tensors out;
  for (const auto& p : m.named_parameters())
    out[p.key()] = p.value().detach().clone();
  for (const auto& b : m.named_buffers())
    out[b.key()] = b.value().detach().clone();
  return out;
}

/// One train-mode SGD step (lr 0.1) on the mean of the output, over the parameters that train.
void train_step(BackboneImpl& net, const torch::Tensor& x) {
  net.train();
  ParamGroup group;
  for (const auto& p : net.named_parameters()) {
    if (p.value().requires_grad())
      group.params.emplace_back(p.key(), p.value());
  }
  SgdOptions o;
  o.lr = 0.1;
  PolySgd sgd({group}, o);
  const torch::Tensor out = net.forward_features(x);
  (out * out).mean().backward();
  sgd.step(0);
}

bool starts_with(const std::string& s, const std::string& prefix) {
  return s.rfind(prefix, 0) == 0;
}

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() &&
         s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

/// Whether tensor `name` kept its value (bit for bit) through the step.
bool kept(const Tensors& before, const Tensors& after, const std::string& name) {
  return torch::equal(before.at(name), after.at(name));
}

ResNetOptions tiny_resnet() {
  ResNetOptions o = ResNetOptions::tiny();
  o.output_stride = 8;
  o.dilate = true;
  return o;
}

TEST(Freeze, NormEvalKeepsBatchNormStatisticsButTrainsItsAffineWeights) {
  torch::manual_seed(0);
  ResNet net(tiny_resnet());
  FreezeOptions f;
  f.norm_eval = true;
  net->set_freeze(f);
  const Tensors before = snapshot(*net);
  train_step(*net, torch::randn({2, 3, 32, 32}) + 1.0);
  const Tensors after = snapshot(*net);
  EXPECT_TRUE(net->is_training());
  EXPECT_FALSE(net->bn1->is_training());
  int stats = 0, affine = 0;
  for (const auto& [name, t] : before) {
    if (ends_with(name, "running_mean") || ends_with(name, "running_var") ||
        ends_with(name, "num_batches_tracked")) {
      EXPECT_TRUE(kept(before, after, name)) << name;
      ++stats;
    } else if (name.find("bn") != std::string::npos || ends_with(name, "downsample.1.weight") ||
               ends_with(name, "downsample.1.bias")) {
      EXPECT_FALSE(kept(before, after, name)) << name;
      ++affine;
    }
  }
  EXPECT_EQ(stats, 17 * 3);  // bn1 and 4 BatchNorms in each of the 4 blocks
  EXPECT_EQ(affine, 17 * 2);
  EXPECT_EQ(net->freeze_state().norm_layers_eval, 17);

  // Without norm_eval the same step moves the statistics.
  torch::manual_seed(0);
  ResNet plain(tiny_resnet());
  train_step(*plain, torch::randn({2, 3, 32, 32}) + 1.0);
  EXPECT_FALSE(torch::equal(before.at("bn1.running_mean"), plain->bn1->running_mean));
}

TEST(Freeze, ResNetFrozenStagesKeepStemAndFirstStagesBitForBit) {
  ResNet net(tiny_resnet());
  FreezeOptions f;
  f.frozen_stages = 2;
  net->set_freeze(f);
  const Tensors before = snapshot(*net);
  train_step(*net, torch::randn({2, 3, 32, 32}));
  const Tensors after = snapshot(*net);
  // Stem and layer1..2: weights and BatchNorm statistics (eval mode) unchanged; later stages
  // train, their BatchNorm statistics included.
  for (const auto& [name, t] : before) {
    const bool frozen = starts_with(name, "conv1.") || starts_with(name, "bn1.") ||
                        starts_with(name, "layer1.") || starts_with(name, "layer2.");
    EXPECT_EQ(kept(before, after, name), frozen) << name;
  }
  EXPECT_FALSE(net->layer2->is_training());
  EXPECT_TRUE(net->layer3->is_training());
  EXPECT_FALSE(net->conv1->weight.requires_grad());
  EXPECT_TRUE(net->layer3->parameters()[0].requires_grad());
  EXPECT_EQ(net->freeze_state().frozen_parameters, 3 + 12 + 12);
}

// The published backbones honour both options too: norm_eval puts every BatchNorm in eval mode in
// training, and frozen stages are res2net's deep stem and layers, resnet38d's conv1a and its b2..b7
// groups.
TEST(Freeze, Res2NetAndResNet38dHonourNormEvalAndTheirStages) {
  Res2NetOptions ro;
  ro.layers = {1, 1, 1, 1};
  Res2Net res2net(ro);
  FreezeOptions f;
  f.norm_eval = true;
  f.frozen_stages = 1;
  res2net->set_freeze(f);
  res2net->train();
  const FreezeState r = res2net->freeze_state();
  EXPECT_EQ(r.norm_layers_eval, r.norm_layers);
  EXPECT_GT(r.norm_layers, 10);
  EXPECT_FALSE(res2net->layer1->parameters()[0].requires_grad());
  EXPECT_FALSE(res2net->conv1->parameters()[0].requires_grad());
  EXPECT_TRUE(res2net->layer2->parameters()[0].requires_grad());
  EXPECT_TRUE(res2net->layer2->is_training());

  ResNet38d r38(ResNet38dOptions{});
  f.norm_eval = false;
  f.frozen_stages = 2;  // conv1a, b2*, b3*
  r38->set_freeze(f);
  r38->train();
  for (const auto& p : r38->named_parameters()) {
    const bool frozen =
        starts_with(p.key(), "conv1a.") || starts_with(p.key(), "b2") || starts_with(p.key(), "b3");
    EXPECT_EQ(p.value().requires_grad(), !frozen) << p.key();
  }
  EXPECT_TRUE(r38->b6->is_training());
  EXPECT_LT(r38->freeze_state().norm_layers_eval, r38->freeze_state().norm_layers);
  f.frozen_stages = 7;
  test::expect_error([&] { r38->set_freeze(f); }, {"this backbone has 6 stages"});
}

TEST(Freeze, FrozenStagesMinusOneFreezesNothingAndTooManyIsAnError) {
  ResNet net(tiny_resnet());
  FreezeOptions f;
  f.frozen_stages = -1;
  net->set_freeze(f);
  EXPECT_EQ(net->freeze_state().frozen_parameters, 0);
  f.frozen_stages = 5;
  test::expect_error([&] { net->set_freeze(f, "SegModelOptions::frozen_stages"); },
                     {"SegModelOptions::frozen_stages 5: this backbone has 4 stages"});
  f.frozen_stages = -3;
  test::expect_error([&] { net->set_freeze(f); }, {"FreezeOptions::frozen_stages -3"});
}

TEST(Freeze, VggStagesAreItsConvBlocks) {
  VGG net(VGGOptions::tiny());
  ASSERT_EQ(net->freeze_stages().size(), 6u);  // no stem, 5 blocks
  FreezeOptions f;
  f.frozen_stages = 2;
  net->set_freeze(f);
  const Tensors before = snapshot(*net);
  train_step(*net, torch::randn({1, 3, 224, 224}));
  const Tensors after = snapshot(*net);
  // Blocks 1 and 2 are features.0, 2 (pool 4) and features.5, 7 (pool 9).
  for (const auto& [name, t] : before) {
    const bool frozen = starts_with(name, "features.0.") || starts_with(name, "features.2.") ||
                        starts_with(name, "features.5.") || starts_with(name, "features.7.");
    EXPECT_EQ(kept(before, after, name), frozen) << name;
  }
  f.frozen_stages = 0;  // nothing: VGG has no stem
  VGG other(VGGOptions::tiny());
  other->set_freeze(f);
  EXPECT_EQ(other->freeze_state().frozen_parameters, 0);
}

TEST(Freeze, VitStemIsPatchEmbeddingAndTokensThenBlocks) {
  ViTOptions o = ViTOptions::tiny();
  o.image_size = 32;
  VisionTransformer net(o);
  FreezeOptions f;
  f.frozen_stages = 1;
  net->set_freeze(f);
  const Tensors before = snapshot(*net);
  train_step(*net, torch::randn({2, 3, 32, 32}));
  const Tensors after = snapshot(*net);
  for (const auto& [name, t] : before) {
    const bool frozen = starts_with(name, "patch_embed.") || name == "cls_token" ||
                        name == "pos_embed" || starts_with(name, "blocks.0.");
    EXPECT_EQ(kept(before, after, name), frozen) << name;
  }
}

TEST(Freeze, ClassifierAndSegModelOptionsReachTheBackbone) {
  ClassifierOptions c;
  c.arch = "resnet-tiny";
  c.frozen_bn = false;
  c.norm_eval = true;
  c.frozen_stages = 1;
  Classifier cls(c);
  cls->train();
  const FreezeState cs = cls->backbone->freeze_state();
  EXPECT_EQ(cs.norm_layers_eval, cs.norm_layers);
  EXPECT_EQ(cs.frozen_parameters, 3 + 12);
  EXPECT_FALSE(cls->resnet().bn1->is_training());
  EXPECT_TRUE(cls->is_training());

  SegModelOptions s;
  s.arch = "pspnet-tiny";
  s.norm_eval = true;
  s.frozen_stages = 0;
  SegModel seg(s);
  seg->train();
  const FreezeState ss = seg->backbone->freeze_state();
  EXPECT_EQ(ss.norm_layers_eval, ss.norm_layers);
  EXPECT_EQ(ss.frozen_parameters, 3);
  EXPECT_EQ(seg->backbone_parameters().size() + 3, seg->backbone->parameters().size());

  s.frozen_stages = 9;
  test::expect_error([&] { SegModel m(s); }, {"SegModelOptions::frozen_stages 9"});
  c.frozen_stages = -3;
  test::expect_error([&] { Classifier m(c); }, {"ClassifierOptions::frozen_stages -3"});
}

}  // namespace
}  // namespace pm::nn
