// SPDX-License-Identifier: MIT
// load_irn_backbone: torchvision's resnet50 key list (tests/fixtures/nn/resnet50_keys.txt, with
// and without the BatchNorm counters the 2017 resnet50-19c8e357.pth lacks) loads by name into
// IrnNet's backbone, the ImageNet fc ignored; a file that does not match fails naming the file.
#include <gtest/gtest.h>

#include <torch/torch.h>

#include <string>
#include <utility>
#include <vector>

#include "pseudomask/core/io/torch/checkpoint.h"
#include "pseudomask/nn/checkpoint/load.h"
#include "pseudomask/nn/irn/irn_net.h"
#include "pseudomask/nn/tensor.h"
#include "support/expect_error.h"
#include "support/hash_fill.h"
#include "support/key_list.h"
#include "support/test_paths.h"

namespace pm::nn {
namespace {

/// torchvision's resnet50 state dict with hashed values (counters as int64 0 unless left out).
Checkpoint torchvision_resnet50(bool with_counters) {
  Checkpoint ckpt;
  for (const auto& [name, shape] : test::read_key_list("resnet50_keys.txt")) {
    const bool counter = test::key_ends_with(name, "num_batches_tracked");
    if (counter && !with_counters)
      continue;
    torch::Tensor t = torch::zeros(shape, counter ? torch::kLong : torch::kFloat);
    test::hash_fill_tensor(name, t);
    ckpt.tensors.emplace_back(name, to_ndarray(t));
  }
  return ckpt;
}

void expect_loaded(IrnNet& net, const Checkpoint& ckpt) {
  auto params = net->backbone->named_parameters();
  auto buffers = net->backbone->named_buffers();
  int checked = 0;
  for (const auto& [name, array] : ckpt.tensors) {
    if (name.rfind("fc.", 0) == 0 || test::key_ends_with(name, "num_batches_tracked"))
      continue;
    const torch::Tensor* mine = params.find(name);
    if (mine == nullptr)
      mine = buffers.find(name);
    ASSERT_NE(mine, nullptr) << name;
    EXPECT_TRUE(torch::equal(*mine, to_tensor(array))) << name;
    ++checked;
  }
  EXPECT_EQ(checked, 265);  // 53 convs + 53 BatchNorms × 4 float tensors
  for (const auto& p : net->backbone->parameters())
    EXPECT_FALSE(p.requires_grad());  // still frozen after the load
}

class IrnLoadBackbone : public ::testing::TestWithParam<bool> {};

TEST_P(IrnLoadBackbone, TorchvisionResNet50LoadsByName) {
  const test::TempDir dir("irn_load");
  const Checkpoint ckpt = torchvision_resnet50(GetParam());
  write_checkpoint(dir / "resnet50.pth", ckpt);
  IrnNet net{IrnNetOptions{}};
  load_irn_backbone(net, dir / "resnet50.pth");
  expect_loaded(net, ckpt);
}

INSTANTIATE_TEST_SUITE_P(Counters, IrnLoadBackbone, ::testing::Bool());

TEST(IrnLoadBackbone, ClassifierCheckpointBackboneLoads) {
  // A train-cls resnet-tiny checkpoint: "backbone.<torchvision name>" and the classifier head.
  const test::TempDir dir("irn_load_cls");
  IrnNetOptions tiny;
  tiny.backbone = "resnet-tiny";
  IrnNet source(tiny);
  test::hash_fill(*source);
  Checkpoint ckpt;
  for (const auto& p : source->backbone->named_parameters())
    ckpt.tensors.emplace_back("backbone." + p.key(), to_ndarray(p.value()));
  for (const auto& b : source->backbone->named_buffers())
    ckpt.tensors.emplace_back("backbone." + b.key(), to_ndarray(b.value()));
  ckpt.tensors.emplace_back("classifier.weight", to_ndarray(torch::ones({20, 256, 1, 1})));
  write_checkpoint(dir / "model.pth", ckpt);

  IrnNet net(tiny);
  load_irn_backbone(net, dir / "model.pth");
  auto loaded = net->backbone->named_parameters();
  for (const auto& p : source->backbone->named_parameters())
    EXPECT_TRUE(torch::equal(loaded[p.key()], p.value())) << p.key();
  auto loaded_buffers = net->backbone->named_buffers();
  for (const auto& b : source->backbone->named_buffers())
    EXPECT_TRUE(torch::equal(loaded_buffers[b.key()], b.value())) << b.key();
}

TEST(IrnLoadWeights, OwnCheckpointRoundTrips) {
  const test::TempDir dir("irn_weights_own");
  IrnNetOptions tiny;
  tiny.backbone = "resnet-tiny";
  IrnNet source(tiny);
  test::hash_fill(*source);
  write_checkpoint(dir / "model.pth", state_dict_of(*source));
  IrnNet net(tiny);
  load_irn_weights(net, dir / "model.pth");
  auto loaded = net->named_parameters();
  for (const auto& p : source->named_parameters())
    EXPECT_TRUE(torch::equal(loaded[p.key()], p.value())) << p.key();
  EXPECT_TRUE(torch::equal(net->fc_dp7->ptr<MeanShiftImpl>(4)->running_mean,
                           source->fc_dp7->ptr<MeanShiftImpl>(4)->running_mean));
}

TEST(IrnLoadWeights, PublicIrnCheckpointLoadsByName) {
  // The keys of the public code's trained res50_irn.pth (tests/fixtures/nn/irn_res50_keys.txt)
  // with hashed values; IRN's aliases of the same modules (stage*, backbone.<i>, edge_layers,
  // dp_layers) and its path-index tensors get one-element placeholders: they must be ignored.
  const test::TempDir dir("irn_weights_public");
  Checkpoint ckpt;
  for (const auto& [name, shape] : test::read_key_list("irn_res50_keys.txt")) {
    const bool alias = name.rfind("stage", 0) == 0 || name.rfind("backbone.", 0) == 0 ||
                       name.rfind("edge_layers.", 0) == 0 || name.rfind("dp_layers.", 0) == 0;
    const bool counter = test::key_ends_with(name, "num_batches_tracked");
    torch::Tensor t =
        alias ? torch::zeros({1}) : torch::zeros(shape, counter ? torch::kLong : torch::kFloat);
    test::hash_fill_tensor(name, t);
    ckpt.tensors.emplace_back(name, to_ndarray(t));
  }
  ckpt.tensors.emplace_back("path_indices0", to_ndarray(torch::zeros({3, 2, 5}, torch::kLong)));
  ckpt.tensors.emplace_back("ind_from", to_ndarray(torch::zeros({1, 5}, torch::kLong)));
  ckpt.tensors.emplace_back("ind_to", to_ndarray(torch::zeros({3, 5}, torch::kLong)));
  write_checkpoint(dir / "res50_irn.pth", ckpt);

  IrnNet net{IrnNetOptions{}};
  load_irn_weights(net, dir / "res50_irn.pth");
  const auto hashed = [](const std::string& key, const torch::Tensor& like) {
    torch::Tensor t = torch::zeros_like(like);
    test::hash_fill_tensor(key, t);
    return t;
  };
  auto params = net->named_parameters();
  for (const auto& [mine, theirs] : std::vector<std::pair<std::string, std::string>>{
           {"backbone.conv1.weight", "resnet50.conv1.weight"},
           {"backbone.layer4.2.bn3.bias", "resnet50.layer4.2.bn3.bias"},
           {"fc_edge6.weight", "fc_edge6.weight"},
           {"fc_dp7.3.weight", "fc_dp7.3.weight"}})
    EXPECT_TRUE(torch::equal(params[mine], hashed(theirs, params[mine]))) << mine;
  const torch::Tensor mean = net->fc_dp7->ptr<MeanShiftImpl>(4)->running_mean;
  EXPECT_TRUE(torch::equal(mean, hashed("fc_dp7.4.running_mean", mean)));
}

TEST(IrnLoadBackboneErrors, MismatchAndMissingFilesNameTheFile) {
  const test::TempDir dir("irn_load_err");
  Checkpoint wrong;
  wrong.tensors.emplace_back("conv1.weight", to_ndarray(torch::zeros({64, 3, 7, 7})));
  write_checkpoint(dir / "partial.pth", wrong);
  IrnNet net{IrnNetOptions{}};
  test::expect_error([&] { load_irn_backbone(net, dir / "partial.pth"); },
                     {dir / "partial.pth", "missing"});
  test::expect_error([&] { load_irn_backbone(net, dir / "absent.pth"); }, {dir / "absent.pth"});
}

}  // namespace
}  // namespace pm::nn
