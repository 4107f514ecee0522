// SPDX-License-Identifier: MIT
// Our modules against PyTorch definitions with the published names: the tiny ResNet, VGG and ViT
// of tests/fixtures/nn/make_nn_fixtures.py are loaded from the .pth files torch.save wrote and
// must reproduce the forward passes PyTorch computed (tolerance 1e-4).
#include <gtest/gtest.h>

#include <torch/nn/module.h>

#include <cmath>

#include "pseudomask/core/io/numpy/npy.h"
#include "pseudomask/core/io/numpy/npz.h"
#include "pseudomask/core/io/torch/checkpoint.h"
#include "pseudomask/nn/backbones/resnet.h"
#include "pseudomask/nn/backbones/vgg.h"
#include "pseudomask/nn/backbones/vit.h"
#include "pseudomask/nn/checkpoint/load.h"
#include "pseudomask/nn/tensor.h"
#include "support/key_list.h"
#include "support/test_paths.h"

namespace pm::nn {
namespace {

using test::read_key_list;

/// Forward passes must match PyTorch's to this absolute tolerance.
constexpr double kTolerance = 1e-4;

std::string nn_fixture(const std::string& name) {
  return test::fixture("nn/" + name);
}

torch::Tensor expected(const std::string& npz, const std::string& key) {
  const auto arrays = read_npz(nn_fixture(npz));
  const auto it = arrays.find(key);
  EXPECT_NE(it, arrays.end()) << npz << " has no " << key;
  return to_tensor(it->second);
}

void expect_close(const torch::Tensor& got, const torch::Tensor& want) {
  ASSERT_EQ(got.sizes(), want.sizes());
  const double err = (got - want).abs().max().item<double>();
  EXPECT_LT(err, kTolerance) << "max abs error " << err;
  EXPECT_GT(want.abs().max().item<double>(), 1e-3) << "reference output is trivially small";
}

/// fmod(i * 0.013, 2) - 1 over the flat index, as make_nn_fixtures.py's fmod_ramp.
torch::Tensor fmod_ramp(std::vector<int64_t> shape) {
  torch::Tensor t = torch::empty(shape);
  float* p = t.data_ptr<float>();
  for (int64_t i = 0; i < t.numel(); ++i)
    p[i] = static_cast<float>(std::fmod(static_cast<double>(i) * 0.013, 2.0) - 1.0);
  return t;
}

void expect_same_keys(const torch::nn::Module& m, const std::string& key_file) {
  const auto want = read_key_list(key_file);
  ASSERT_FALSE(want.empty());
  std::map<std::string, std::vector<int64_t>> have;
  for (const auto& p : m.named_parameters())
    have[p.key()] = p.value().sizes().vec();
  for (const auto& b : m.named_buffers())
    have[b.key()] = b.value().sizes().vec();
  EXPECT_EQ(have.size(), want.size());
  for (const auto& [name, shape] : want) {
    const auto it = have.find(name);
    ASSERT_NE(it, have.end()) << key_file << ": our module has no " << name;
    EXPECT_EQ(it->second, shape) << name;
  }
}

ResNetOptions tiny_resnet(int output_stride, bool dilate) {
  ResNetOptions o;
  o.layers = {1, 1, 1, 1};
  o.width = 4;
  o.num_classes = 5;
  o.output_stride = output_stride;
  o.dilate = dilate;
  return o;
}

ResNet load_tiny_resnet(int output_stride, bool dilate) {
  ResNet net(tiny_resnet(output_stride, dilate));
  load_state_dict(*net,
                  read_checkpoint(nn_fixture("resnet_tiny.pth")),
                  torchvision_resnet_rules(),
                  "resnet_tiny.pth");
  net->eval();
  return net;
}

TEST(ResNet, MatchesPyTorchAtOutputStride32) {
  ResNet net = load_tiny_resnet(32, false);
  torch::NoGradGuard no_grad;
  const torch::Tensor x = expected("resnet_tiny_expected.npz", "input");
  expect_close(net->features(x), expected("resnet_tiny_expected.npz", "features_os32"));
  expect_close(net->forward(x), expected("resnet_tiny_expected.npz", "logits"));
}

TEST(ResNet, OutputStride16WithoutDilationMatchesIrnStrides) {
  ResNet net = load_tiny_resnet(16, false);
  torch::NoGradGuard no_grad;
  const torch::Tensor x = expected("resnet_tiny_expected.npz", "input");  // 64 x 48
  const torch::Tensor f = net->features(x);
  EXPECT_EQ(f.sizes(), (std::vector<int64_t>{1, 128, 4, 3}));
  expect_close(f, expected("resnet_tiny_expected.npz", "features_os16"));
}

TEST(ResNet, OutputStride8WithDilationMatchesTorchvision) {
  ResNet net = load_tiny_resnet(8, true);
  torch::NoGradGuard no_grad;
  const torch::Tensor x = expected("resnet_tiny_expected.npz", "input");
  const torch::Tensor f = net->features(x);
  EXPECT_EQ(f.sizes(), (std::vector<int64_t>{1, 128, 8, 6}));
  expect_close(f, expected("resnet_tiny_expected.npz", "features_os8"));
  // Dilation 2 in layer3 and 4 in layer4, after the first block (torchvision's rule).
  EXPECT_EQ(net->layer4->ptr(0)->as<Bottleneck>()->conv2->options.dilation()->at(0), 2);
  EXPECT_EQ(net->layer3->ptr(0)->as<Bottleneck>()->conv2->options.dilation()->at(0), 1);
}

TEST(ResNet, FeatureSizesFollowTheOutputStride) {
  torch::NoGradGuard no_grad;
  const torch::Tensor x = torch::zeros({1, 3, 96, 128});
  for (const auto& [os, dilate] :
       std::vector<std::pair<int, bool>>{{32, false}, {16, false}, {16, true}, {8, true}}) {
    ResNet net(tiny_resnet(os, dilate));
    net->eval();
    const auto sizes = net->features(x).sizes();
    EXPECT_EQ(sizes[2], 96 / os) << "output stride " << os;
    EXPECT_EQ(sizes[3], 128 / os) << "output stride " << os;
  }
}

TEST(ResNet, FrozenBatchNormUsesRunningStatisticsInTrainMode) {
  ResNetOptions o = tiny_resnet(16, false);
  o.frozen_bn = true;
  ResNet net(o);
  net->train();
  const torch::Tensor before = net->bn1->running_mean.clone();
  torch::NoGradGuard no_grad;
  net->forward(torch::randn({2, 3, 32, 32}) + 3.0);
  EXPECT_TRUE(torch::equal(before, net->bn1->running_mean));
  EXPECT_FALSE(net->bn1->is_training());
  EXPECT_TRUE(net->is_training());

  ResNet plain(tiny_resnet(16, false));
  plain->train();
  plain->forward(torch::randn({2, 3, 32, 32}) + 3.0);
  EXPECT_FALSE(torch::equal(before, plain->bn1->running_mean));
}

TEST(ResNet, HasTorchvisionKeyNames) {
  ResNetOptions r50;
  r50.num_classes = 1000;
  expect_same_keys(*ResNet(r50), "resnet50_keys.txt");
  ResNetOptions r101 = ResNetOptions::resnet101();
  r101.num_classes = 1000;
  expect_same_keys(*ResNet(r101), "resnet101_keys.txt");
}

TEST(VGG, LinearFc6Fc7LoadAsConvolutionsAndMatchPyTorch) {
  VGG net(VGGOptions::tiny());
  const Checkpoint ckpt = read_checkpoint(nn_fixture("vgg_tiny.pth"));  // legacy, {'model': ...}
  const LoadReport report = load_state_dict(*net, ckpt, torchvision_vgg_rules(), "vgg_tiny.pth");
  EXPECT_EQ(report.ignored, (std::vector<std::string>{"classifier.6.weight", "classifier.6.bias"}));
  ASSERT_EQ(report.adapted.size(), 4u);
  EXPECT_NE(report.adapted[0].find("classifier.0.weight -> fc6.weight"), std::string::npos);
  EXPECT_NE(report.adapted[0].find("(32, 1568) to (32, 32, 7, 7)"), std::string::npos)
      << report.adapted[0];
  net->eval();
  torch::NoGradGuard no_grad;
  const torch::Tensor x = fmod_ramp({1, 3, 224, 224});
  expect_close(net->features_forward(x), expected("vgg_tiny_expected.npz", "features"));
  expect_close(net->forward(x), expected("vgg_tiny_expected.npz", "fc7"));
}

TEST(VGG, HasTorchvisionConvNames) {
  // Only the conv stack: fc6/fc7 are ours (renamed on load), classifier.* are torchvision's.
  VGGOptions o;
  o.fc_channels = 0;
  const VGG net(o);
  std::vector<std::string> want;
  for (const auto& [name, shape] : read_key_list("vgg16_keys.txt")) {
    if (name.rfind("features.", 0) == 0)
      want.push_back(name);
  }
  std::vector<std::string> have;
  for (const auto& p : net->named_parameters())
    have.push_back(p.key());
  EXPECT_EQ(have, want);
}

ViTOptions tiny_vit() {
  ViTOptions o;
  o.image_size = 64;
  o.dim = 32;
  o.depth = 2;
  o.heads = 4;
  o.num_classes = 5;
  return o;
}

TEST(ViT, MatchesPyTorchAtTrainingSizeAndOtherSizes) {
  VisionTransformer net(tiny_vit());
  load_state_dict(
      *net, read_checkpoint(nn_fixture("vit_tiny.pth")), timm_vit_rules(), "vit_tiny.pth");
  net->eval();
  torch::NoGradGuard no_grad;
  expect_close(net->forward(expected("vit_tiny_expected.npz", "input64")),
               expected("vit_tiny_expected.npz", "logits64"));
  // 96 x 80 input: a 6 x 5 grid with bicubically resampled position embeddings, as timm.
  expect_close(net->forward(expected("vit_tiny_expected.npz", "input96x80")),
               expected("vit_tiny_expected.npz", "logits96x80"));
}

TEST(ViT, PositionEmbeddingResamplingMatchesTorchBicubic) {
  const Checkpoint ckpt = read_checkpoint(nn_fixture("vit_tiny.pth"));
  const torch::Tensor pos = to_tensor(*ckpt.find("pos_embed"));
  ASSERT_EQ(pos.sizes(), (std::vector<int64_t>{1, 17, 32}));
  expect_close(resample_pos_embed(pos, 6, 5), expected("vit_tiny_expected.npz", "pos_embed_6x5"));
  expect_close(resample_pos_embed(pos, 3, 3), expected("vit_tiny_expected.npz", "pos_embed_3x3"));
  // The class token's embedding is kept as is.
  EXPECT_TRUE(torch::equal(resample_pos_embed(pos, 6, 5)[0][0], pos[0][0]));
  EXPECT_TRUE(torch::equal(resample_pos_embed(pos, 4, 4), pos));
}

TEST(ViT, LoadingIntoALargerGridResamplesPosEmbed) {
  ViTOptions o = tiny_vit();
  o.image_size = 96;  // 6 x 6 grid
  VisionTransformer net(o);
  const Checkpoint ckpt = read_checkpoint(nn_fixture("vit_tiny.pth"));
  const LoadReport r = load_state_dict(*net, ckpt, timm_vit_rules(), "vit_tiny.pth");
  ASSERT_EQ(r.adapted.size(), 1u);
  EXPECT_NE(r.adapted[0].find("pos_embed (resampled (1, 17, 32) to (1, 37, 32) (bicubic))"),
            std::string::npos)
      << r.adapted[0];
  const torch::Tensor want = resample_pos_embed(to_tensor(*ckpt.find("pos_embed")), 6, 6);
  EXPECT_LT((net->pos_embed - want).abs().max().item<double>(), 1e-6);
}

TEST(ViT, OrandnetsBilinearResamplingOnLoadWhenAsked) {
  ViTOptions o = tiny_vit();
  o.image_size = 96;
  VisionTransformer net(o);
  const Checkpoint ckpt = read_checkpoint(nn_fixture("vit_tiny.pth"));
  LoadRules rules = timm_vit_rules();
  rules.pos_embed_mode = "bilinear";
  const LoadReport r = load_state_dict(*net, ckpt, rules, "vit_tiny.pth");
  ASSERT_EQ(r.adapted.size(), 1u);
  EXPECT_NE(r.adapted[0].find("(bilinear)"), std::string::npos) << r.adapted[0];
  const torch::Tensor pos = to_tensor(*ckpt.find("pos_embed"));
  const torch::Tensor bilinear = resample_pos_embed(pos, 6, 6, "bilinear");
  EXPECT_LT((net->pos_embed - bilinear).abs().max().item<double>(), 1e-6);
  EXPECT_GT((bilinear - resample_pos_embed(pos, 6, 6)).abs().max().item<double>(), 1e-3);
}

TEST(ViT, HasTimmKeyNames) {
  ViTOptions o = ViTOptions::deit_small();
  o.num_classes = 1000;
  expect_same_keys(*VisionTransformer(o), "deit_small_keys.txt");
}

TEST(ViT, KeepsEveryBlocksAttentionWithRowsSummingToOne) {
  VisionTransformer net(tiny_vit());
  net->keep_attention(true);
  net->forward(torch::randn({1, 3, 64, 48}));
  const auto maps = net->attention_maps();
  ASSERT_EQ(maps.size(), 2u);
  EXPECT_EQ(maps[0].sizes(), (std::vector<int64_t>{1, 4, 13, 13}));  // 1 + 4x3 tokens
  EXPECT_LT((maps[1].sum(-1) - 1).abs().max().item<double>(), 1e-5);
}

// ---- the Backbone interface -------------------------------------------------------------

TEST(Backbone, ChannelsAndStridesDescribeTheFeatures) {
  torch::NoGradGuard no_grad;
  ResNetOptions r = ResNetOptions::tiny();
  r.output_stride = 8;
  r.dilate = true;
  const std::shared_ptr<BackboneImpl> resnet = ResNet(r).ptr();
  const std::vector<torch::Tensor> stages = resnet->forward_stages(torch::randn({1, 3, 64, 64}));
  ASSERT_EQ(stages.size(), resnet->stage_channels().size());
  for (size_t i = 0; i < stages.size(); ++i)
    EXPECT_EQ(stages[i].size(1), resnet->stage_channels()[i]) << i;
  EXPECT_EQ(stages.back().size(1), resnet->out_channels());
  EXPECT_EQ(stages.back().size(2), 64 / resnet->output_stride());

  const std::shared_ptr<BackboneImpl> vgg = VGG(VGGOptions::tiny()).ptr();
  const torch::Tensor fc7 = vgg->forward_features(torch::randn({1, 3, 224, 224}));
  EXPECT_EQ(fc7.size(1), vgg->out_channels());
  EXPECT_EQ(vgg->output_stride(), 32);
  EXPECT_EQ(fc7.size(2), 224 / vgg->output_stride() - 6);  // fc6: 7x7 without padding

  const std::shared_ptr<BackboneImpl> vit = VisionTransformer(ViTOptions::tiny()).ptr();
  const torch::Tensor tokens = vit->forward_features(torch::randn({1, 3, 32, 48}));
  EXPECT_EQ(tokens.sizes(), torch::IntArrayRef({1, 1 + 2 * 3, vit->out_channels()}));
  EXPECT_EQ(vit->output_stride(), 16);
}

}  // namespace
}  // namespace pm::nn
