// SPDX-License-Identifier: MIT
// Strict loading: missing, unexpected and shape-mismatched keys are reported by name, and a
// failed strict load changes nothing.
#include <gtest/gtest.h>

#include "pseudomask/core/io/torch/checkpoint.h"
#include "pseudomask/nn/backbones/resnet.h"
#include "pseudomask/nn/checkpoint/load.h"
#include "pseudomask/nn/heads/classifier.h"
#include "pseudomask/nn/tensor.h"
#include "support/expect_error.h"
#include "support/test_paths.h"

namespace pm::nn {
namespace {

ResNetOptions tiny_resnet(int num_classes) {
  ResNetOptions o;
  o.layers = {1, 1, 1, 1};
  o.width = 4;
  o.num_classes = num_classes;
  return o;
}

Checkpoint tiny_checkpoint() {
  return read_checkpoint(test::fixture("nn/resnet_tiny.pth"));
}

TEST(LoadStateDict, LoadsEveryTensorOfAMatchingFile) {
  ResNet net(tiny_resnet(5));
  const Checkpoint ckpt = tiny_checkpoint();
  const LoadReport r = load_state_dict(*net, ckpt, torchvision_resnet_rules(), "tiny.pth");
  EXPECT_TRUE(r.ok());
  EXPECT_EQ(r.loaded.size(), ckpt.tensors.size());
  EXPECT_TRUE(torch::equal(net->layer2->ptr(0)->named_parameters()["conv2.weight"],
                           to_tensor(*ckpt.find("layer2.0.conv2.weight"))));
  EXPECT_EQ(net->bn1->num_batches_tracked.item<int64_t>(),
            ckpt.find("bn1.num_batches_tracked")->value_at(0));
}

TEST(LoadStateDict, ImageNetHeadIsIgnoredWhenTheModelHasNone) {
  ResNet net(tiny_resnet(0));
  const LoadReport r =
      load_state_dict(*net, tiny_checkpoint(), torchvision_resnet_rules(), "tiny.pth");
  EXPECT_TRUE(r.ok());
  EXPECT_EQ(r.ignored, (std::vector<std::string>{"fc.weight", "fc.bias"}));
}

TEST(LoadStateDict, ReportsMissingUnexpectedAndMismatchedByName) {
  Checkpoint ckpt = tiny_checkpoint();
  for (auto it = ckpt.tensors.begin(); it != ckpt.tensors.end(); ++it) {
    if (it->first == "layer3.0.bn2.running_var") {
      ckpt.tensors.erase(it);
      break;
    }
  }
  ckpt.tensors.emplace_back("layer9.extra.weight", NDArray(DType::kF32, {2}));
  for (auto& [name, array] : ckpt.tensors) {
    if (name == "conv1.weight")
      array = NDArray(DType::kF32, {4, 3, 5, 5});
  }
  ResNet net(tiny_resnet(5));
  const torch::Tensor before = net->fc->weight.clone();
  test::expect_error([&] { load_state_dict(*net, ckpt, torchvision_resnet_rules(), "bad.pth"); },
                     {"bad.pth: cannot load",
                      "1 missing (layer3.0.bn2.running_var)",
                      "1 unexpected (layer9.extra.weight)",
                      "1 shape mismatch (conv1.weight: file (4, 3, 5, 5) vs model (4, 3, 7, 7))"});
  // Nothing was copied.
  EXPECT_TRUE(torch::equal(before, net->fc->weight));

  const LoadReport r =
      load_state_dict(*net, ckpt, torchvision_resnet_rules(), "bad.pth", /*strict=*/false);
  EXPECT_EQ(r.missing, (std::vector<std::string>{"layer3.0.bn2.running_var"}));
  EXPECT_EQ(r.unexpected, (std::vector<std::string>{"layer9.extra.weight"}));
  ASSERT_EQ(r.mismatched.size(), 1u);
  EXPECT_TRUE(torch::equal(net->fc->weight, to_tensor(*ckpt.find("fc.weight"))));
}

TEST(LoadStateDict, ClassifierRoundTripsThroughItsOwnStateDict) {
  ClassifierOptions o;
  o.arch = "resnet-tiny";
  o.num_classes = 3;
  Classifier a(o), b(o);
  const Checkpoint ckpt = state_dict_of(*a);
  EXPECT_NE(ckpt.find("backbone.layer4.0.conv3.weight"), nullptr);
  EXPECT_NE(ckpt.find("classifier.weight"), nullptr);
  EXPECT_TRUE(load_state_dict(*b, ckpt, LoadRules{}, "a").ok());
  torch::NoGradGuard no_grad;
  a->eval();
  b->eval();
  const torch::Tensor x = torch::randn({1, 3, 32, 32});
  EXPECT_TRUE(torch::equal(a->forward(x), b->forward(x)));
}

TEST(LoadStateDict, PretrainedBackboneIntoAClassifierIgnoresTheImageNetHead) {
  ClassifierOptions o;
  o.arch = "vit-tiny";
  o.image_size = 64;
  o.num_classes = 3;
  Classifier c(o);
  // vit_tiny.pth is dim 32 / depth 2; vit-tiny is dim 64 / depth 4: a clear error, not a crash.
  const std::string msg = test::error_of([&] {
    c->load_pretrained(read_checkpoint(test::fixture("nn/vit_tiny.pth")), "vit_tiny.pth");
  });
  EXPECT_NE(msg.find("vit_tiny.pth: cannot load"), std::string::npos) << msg;
  EXPECT_NE(msg.find("missing (blocks.2."), std::string::npos) << msg;
  EXPECT_NE(msg.find("shape mismatch (cls_token: file (1, 1, 32) vs model (1, 1, 64)"),
            std::string::npos)
      << msg;
}

}  // namespace
}  // namespace pm::nn
