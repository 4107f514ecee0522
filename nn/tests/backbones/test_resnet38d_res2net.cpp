// SPDX-License-Identifier: MIT
// ResNet-38 (resnet38d) and Res2Net-101 v1b at full size against the PyTorch reference modules
// of tests/fixtures/nn/make_backbone_fixtures.py: the same state-dict keys and shapes as the
// published weights, and, with every tensor filled from its key by support/hash_fill.h, the same
// eval-mode stage outputs on a fixed 64x64 input. Tolerance: max |ours − PyTorch| ≤ 1e-4 ·
// max(1, max |PyTorch|) per array (relative to the array's magnitude where it exceeds 1: the
// Res2Net's deep stages reach ~180).
#include <gtest/gtest.h>

#include <torch/nn/module.h>

#include <algorithm>
#include <map>

#include "pseudomask/core/io/numpy/npz.h"
#include "pseudomask/core/io/torch/checkpoint.h"
#include "pseudomask/nn/backbones/res2net.h"
#include "pseudomask/nn/backbones/resnet38d.h"
#include "pseudomask/nn/checkpoint/load.h"
#include "pseudomask/nn/heads/classifier.h"
#include "pseudomask/nn/seg/seg_model.h"
#include "pseudomask/nn/tensor.h"
#include "support/expect_error.h"
#include "support/hash_fill.h"
#include "support/key_list.h"
#include "support/test_paths.h"

namespace pm::nn {
namespace {

constexpr double kRelativeTolerance = 1e-4;

using test::KeyList;
using test::read_key_list;

/// The module's parameters and buffers by name.
std::map<std::string, std::vector<int64_t>> module_keys(const torch::nn::Module& m) {
  std::map<std::string, std::vector<int64_t>> have;
  for (const auto& p : m.named_parameters())
    have[p.key()] = p.value().sizes().vec();
  for (const auto& b : m.named_buffers())
    have[b.key()] = b.value().sizes().vec();
  return have;
}

void expect_same_keys(const torch::nn::Module& m, const std::string& key_file) {
  const KeyList want = read_key_list(key_file);
  ASSERT_FALSE(want.empty());
  const auto have = module_keys(m);
  EXPECT_EQ(have.size(), want.size());
  for (const auto& [name, shape] : want) {
    const auto it = have.find(name);
    ASSERT_NE(it, have.end()) << "missing " << name;
    EXPECT_EQ(it->second, shape) << name;
  }
}

/// A checkpoint holding every key of `key_file` (zeros of the listed shapes; int64 for
/// num_batches_tracked), as a published file with those keys would.
Checkpoint checkpoint_of_key_list(const std::string& key_file) {
  Checkpoint ckpt;
  for (const auto& [name, shape] : read_key_list(key_file)) {
    const bool counter = name.find("num_batches_tracked") != std::string::npos;
    ckpt.tensors.emplace_back(name, NDArray(counter ? DType::kI64 : DType::kF32, shape));
  }
  return ckpt;
}

const std::map<std::string, NDArray>& expected_arrays() {
  static const auto arrays = read_npz(test::fixture("nn/backbones_expected.npz"));
  return arrays;
}

torch::Tensor expected(const std::string& key) {
  const auto it = expected_arrays().find(key);
  EXPECT_NE(it, expected_arrays().end()) << "backbones_expected.npz has no " << key;
  return it == expected_arrays().end() ? torch::Tensor() : to_tensor(it->second);
}

void expect_close(const torch::Tensor& got, const torch::Tensor& want, const std::string& what) {
  ASSERT_TRUE(want.defined()) << what;
  ASSERT_EQ(got.sizes(), want.sizes()) << what;
  const double scale = std::max(1.0, want.abs().max().item<double>());
  const double err = (got - want).abs().max().item<double>();
  EXPECT_LE(err, kRelativeTolerance * scale)
      << what << ": max abs error " << err << " at scale " << scale;
  EXPECT_GT(want.abs().max().item<double>(), 1e-2) << what << ": reference is trivially small";
}

/// Each stage against the fixture: 32 channels (every C/32-th) at every position, and the
/// spatial mean of every channel.
void expect_stages(const std::vector<torch::Tensor>& stages, const std::string& prefix) {
  for (size_t k = 0; k < stages.size(); ++k) {
    const std::string key = prefix + "_stage" + std::to_string(k);
    const int64_t step = std::max<int64_t>(1, stages[k].size(1) / 32);
    expect_close(stages[k].slice(1, 0, stages[k].size(1), step), expected(key), key);
    expect_close(stages[k].mean({2, 3}), expected(key + "_mean"), key + "_mean");
  }
  EXPECT_EQ(expected_arrays().count(prefix + "_stage" + std::to_string(stages.size())), 0u)
      << prefix << ": the fixture has more stages";
}

TEST(ResNet38d, HasTheConvertedImageNetWeightsKeyNames) {
  expect_same_keys(*ResNet38d(), "resnet38d_keys.txt");
}

TEST(ResNet38d, FullSizeStagesMatchTheReferenceOnHashFilledWeights) {
  ResNet38d net;
  test::hash_fill(*net);
  net->eval();
  torch::NoGradGuard no_grad;
  const std::vector<torch::Tensor> stages = net->forward_stages(expected("input"));
  ASSERT_EQ(stages.size(), 5u);
  // Strides 2, 4, 8, 8, 8 of the 64x64 input; the channels stage_channels() reports.
  const std::vector<int64_t> sides{32, 16, 8, 8, 8};
  for (size_t k = 0; k < stages.size(); ++k) {
    EXPECT_EQ(stages[k].size(1), net->stage_channels()[k]);
    EXPECT_EQ(stages[k].size(2), sides[k]);
  }
  expect_stages(stages, "resnet38d");
}

TEST(ResNet38d, FrozenBatchNormStaysInEvalWhileB6AndB7DropOut) {
  ResNet38dOptions frozen;
  frozen.frozen_bn = true;
  ResNet38d fixed(frozen);
  EXPECT_DOUBLE_EQ(fixed->b6->dropout_2b1->options.p(), 0.3);
  EXPECT_DOUBLE_EQ(fixed->b7->dropout_2b2->options.p(), 0.5);
  fixed->train();
  EXPECT_FALSE(fixed->bn7->is_training());
  EXPECT_TRUE(fixed->b7->dropout_2b1->is_training());
}

TEST(Res2Net, HasTheOfficialV1bKeyNames) {
  Res2NetOptions o = Res2NetOptions::res2net101_v1b();
  o.num_classes = 1000;
  expect_same_keys(*Res2Net(o), "res2net101_keys.txt");
}

TEST(Res2Net, FullSizeMatchesTheReferenceAtOutputStride32WithTheImageNetHead) {
  Res2NetOptions o = Res2NetOptions::res2net101_v1b();
  o.num_classes = 1000;
  Res2Net net(o);
  test::hash_fill(*net);
  net->eval();
  torch::NoGradGuard no_grad;
  const torch::Tensor x = expected("input");
  expect_stages(net->forward_stages(x), "res2net101_os32");
  expect_close(net->forward(x), expected("res2net101_os32_logits"), "logits");
}

TEST(Res2Net, FullSizeMatchesTheReferenceDilatedAtOutputStride8) {
  Res2NetOptions o = Res2NetOptions::res2net101_v1b();
  o.output_stride = 8;
  o.dilate = true;
  Res2Net net(o);
  test::hash_fill(*net);
  net->eval();
  torch::NoGradGuard no_grad;
  const std::vector<torch::Tensor> stages = net->forward_stages(expected("input"));
  EXPECT_EQ(stages.back().size(2), 8);
  expect_stages(stages, "res2net101_os8");
}

TEST(Res2Net, RefusesAnOutputStrideItCannotMake) {
  Res2NetOptions o;
  o.output_stride = 4;
  test::expect_error([&] { Res2Net{o}; }, {"Res2NetOptions::output_stride 4"});
}

/// The classifier loads a file with the published keys by name: all loaded, the ImageNet head
/// ignored, and without num_batches_tracked (converted files) those stay allowed-missing.
TEST(PublishedBackbones, ClassifiersLoadTheFullPublishedKeyLists) {
  for (const auto& [arch, key_file] :
       std::vector<std::pair<std::string, std::string>>{{"resnet38d", "resnet38d_keys.txt"},
                                                        {"res2net101", "res2net101_keys.txt"},
                                                        {"resnet50", "resnet50_keys.txt"}}) {
    ClassifierOptions o;
    o.arch = arch;
    Classifier model(o);
    const Checkpoint ckpt = checkpoint_of_key_list(key_file);
    const LoadReport r = model->load_pretrained(ckpt, key_file);
    EXPECT_TRUE(r.ok()) << arch << ": " << r.summary();
    EXPECT_EQ(r.ignored.size(), arch == "resnet38d" ? 0u : 2u) << r.summary();  // fc.*
    Checkpoint converted;
    for (const auto& t : ckpt.tensors) {
      if (t.first.find("num_batches_tracked") == std::string::npos)
        converted.tensors.push_back(t);
    }
    const LoadReport c = model->load_pretrained(converted, key_file);
    EXPECT_TRUE(c.ok()) << arch << ": " << c.summary();
    EXPECT_EQ(c.allowed_missing.size(), ckpt.tensors.size() - converted.tensors.size());
  }
}

TEST(PublishedBackbones, MissingAndUnexpectedKeysAreReportedByName) {
  Checkpoint ckpt = checkpoint_of_key_list("resnet38d_keys.txt");
  ckpt.tensors.erase(std::find_if(ckpt.tensors.begin(), ckpt.tensors.end(), [](const auto& t) {
    return t.first == "b4_3.conv_branch2a.weight";
  }));
  ckpt.tensors.emplace_back("b8.conv_branch2a.weight", NDArray(DType::kF32, {2}));
  ClassifierOptions o;
  o.arch = "resnet38d";
  Classifier model(o);
  test::expect_error([&] { model->load_pretrained(ckpt, "res38d.pth"); },
                     {"res38d.pth: cannot load",
                      "1 missing (b4_3.conv_branch2a.weight)",
                      "1 unexpected (b8.conv_branch2a.weight)"});
}

/// Every head the papers use runs on both backbones (output stride 8; PSPNet's auxiliary head on
/// the 1024-channel stage), and a train-cls checkpoint's backbone loads into them.
TEST(PublishedBackbones, EverySegmentationHeadRunsOnThem) {
  torch::NoGradGuard no_grad;
  // Two images: PSPNet trains with BatchNorm on its 1x1 pyramid bin.
  const torch::Tensor x = torch::rand({2, 3, 40, 48});
  for (const std::string backbone : {"resnet38d", "res2net101"}) {
    for (const std::string head : {"deeplab-largefov", "deeplabv2", "pspnet"}) {
      SegModelOptions o;
      o.arch = head + "-" + backbone;
      SegModel model(o);
      model->train(head == "pspnet");
      const SegOutput out = model->forward(x);
      EXPECT_EQ(out.logits.sizes(), (std::vector<int64_t>{2, 21, 5, 6})) << o.arch;
      if (head == "pspnet") {
        ASSERT_TRUE(out.aux.defined()) << o.arch;
        EXPECT_EQ(out.aux.sizes(), out.logits.sizes());
      }
    }
  }
}

TEST(PublishedBackbones, SegmentationModelsLoadAClassifiersBackbone) {
  ClassifierOptions co;
  co.arch = "resnet38d";
  Classifier cls(co);
  {
    torch::NoGradGuard no_grad;
    cls->backbone->named_parameters()["b4_5.conv_branch2b1.weight"].fill_(0.25);
  }
  SegModelOptions so;
  so.arch = "deeplab-largefov-resnet38d";
  SegModel seg(so);
  seg->load_pretrained_backbone(state_dict_of(*cls), "cls.pth");
  EXPECT_TRUE(torch::equal(seg->backbone->named_parameters()["b4_5.conv_branch2b1.weight"],
                           cls->backbone->named_parameters()["b4_5.conv_branch2b1.weight"]));
}

TEST(PublishedBackbones, SegmentationModelsLoadThePublishedRes2NetKeys) {
  SegModelOptions o;
  o.arch = "pspnet-res2net101";
  SegModel seg(o);
  Checkpoint ckpt = checkpoint_of_key_list("res2net101_keys.txt");
  seg->load_pretrained_backbone(ckpt, "res2net101_v1b_26w_4s.pth");  // fc.* ignored
  ckpt.tensors.erase(std::find_if(ckpt.tensors.begin(), ckpt.tensors.end(), [](const auto& t) {
    return t.first == "layer3.22.bns.2.running_var";
  }));
  test::expect_error([&] { seg->load_pretrained_backbone(ckpt, "r2n.pth"); },
                     {"r2n.pth: cannot load", "1 missing (layer3.22.bns.2.running_var)"});
}

}  // namespace
}  // namespace pm::nn
