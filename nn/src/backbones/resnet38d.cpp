// SPDX-License-Identifier: MIT
#include "pseudomask/nn/backbones/resnet38d.h"

#include <array>

#include "conv.h"

namespace pm::nn {
namespace {

/// One basic block of b2..b5: its name, widths, stride and dilations.
struct BlockSpec {
  const char* name;
  int in, mid, out, stride, first_dilation, dilation;
  /// The first block of a level: the activated input it computes is the previous level's
  /// stage output.
  bool level_start;
};

constexpr std::array<BlockSpec, 15> kBlocks{{
    {"b2", 64, 128, 128, 2, 1, 1, false},
    {"b2_1", 128, 128, 128, 1, 1, 1, false},
    {"b2_2", 128, 128, 128, 1, 1, 1, false},
    {"b3", 128, 256, 256, 2, 1, 1, true},
    {"b3_1", 256, 256, 256, 1, 1, 1, false},
    {"b3_2", 256, 256, 256, 1, 1, 1, false},
    {"b4", 256, 512, 512, 2, 1, 1, true},
    {"b4_1", 512, 512, 512, 1, 1, 1, false},
    {"b4_2", 512, 512, 512, 1, 1, 1, false},
    {"b4_3", 512, 512, 512, 1, 1, 1, false},
    {"b4_4", 512, 512, 512, 1, 1, 1, false},
    {"b4_5", 512, 512, 512, 1, 1, 1, false},
    {"b5", 512, 512, 1024, 1, 1, 2, true},
    {"b5_1", 1024, 512, 1024, 1, 2, 2, false},
    {"b5_2", 1024, 512, 1024, 1, 2, 2, false},
}};

}  // namespace

ResBlock38Impl::ResBlock38Impl(
    int in, int mid, int out, int stride, int first_dilation, int dilation) {
  bn_branch2a = register_module("bn_branch2a", torch::nn::BatchNorm2d(in));
  conv_branch2a =
      register_module("conv_branch2a", detail::same_conv(in, mid, 3, stride, first_dilation));
  bn_branch2b1 = register_module("bn_branch2b1", torch::nn::BatchNorm2d(mid));
  conv_branch2b1 = register_module("conv_branch2b1", detail::same_conv(mid, out, 3, 1, dilation));
  if (in != out || stride != 1)
    conv_branch1 = register_module("conv_branch1", detail::same_conv(in, out, 1, stride));
}

std::pair<torch::Tensor, torch::Tensor> ResBlock38Impl::forward(const torch::Tensor& x) {
  const torch::Tensor activated = torch::relu(bn_branch2a(x));
  const torch::Tensor shortcut = conv_branch1 ? conv_branch1(activated) : x;
  const torch::Tensor branch = conv_branch2b1(torch::relu(bn_branch2b1(conv_branch2a(activated))));
  return {shortcut + branch, activated};
}

ResBlock38BotImpl::ResBlock38BotImpl(int in, int out, int dilation, double dropout) {
  bn_branch2a = register_module("bn_branch2a", torch::nn::BatchNorm2d(in));
  conv_branch2a = register_module("conv_branch2a", detail::same_conv(in, out / 4, 1));
  bn_branch2b1 = register_module("bn_branch2b1", torch::nn::BatchNorm2d(out / 4));
  dropout_2b1 = register_module("dropout_2b1", torch::nn::Dropout2d(dropout));
  conv_branch2b1 =
      register_module("conv_branch2b1", detail::same_conv(out / 4, out / 2, 3, 1, dilation));
  bn_branch2b2 = register_module("bn_branch2b2", torch::nn::BatchNorm2d(out / 2));
  dropout_2b2 = register_module("dropout_2b2", torch::nn::Dropout2d(dropout));
  conv_branch2b2 = register_module("conv_branch2b2", detail::same_conv(out / 2, out, 1));
  conv_branch1 = register_module("conv_branch1", detail::same_conv(in, out, 1));
}

std::pair<torch::Tensor, torch::Tensor> ResBlock38BotImpl::forward(const torch::Tensor& x) {
  const torch::Tensor activated = torch::relu(bn_branch2a(x));
  const torch::Tensor shortcut = conv_branch1(activated);
  torch::Tensor branch = dropout_2b1(torch::relu(bn_branch2b1(conv_branch2a(activated))));
  branch = dropout_2b2(torch::relu(bn_branch2b2(conv_branch2b1(branch))));
  return {shortcut + conv_branch2b2(branch), activated};
}

ResNet38dImpl::ResNet38dImpl(const ResNet38dOptions& options) : options_(options) {
  conv1a = register_module("conv1a", detail::same_conv(3, 64, 3));
  for (const BlockSpec& s : kBlocks) {
    blocks.push_back(register_module(
        s.name, ResBlock38(s.in, s.mid, s.out, s.stride, s.first_dilation, s.dilation)));
  }
  b6 = register_module("b6", ResBlock38Bot(1024, 2048, 4, 0.3));
  b7 = register_module("b7", ResBlock38Bot(2048, 4096, 4, 0.5));
  bn7 = register_module("bn7", torch::nn::BatchNorm2d(4096));
  set_fixed_batch_norm(options_.frozen_bn);
  train(is_training());  // puts frozen BatchNorm in eval mode from the start
}

std::vector<torch::Tensor> ResNet38dImpl::forward_stages(const torch::Tensor& x) {
  std::vector<torch::Tensor> stages;
  torch::Tensor h = conv1a(x);
  for (size_t i = 0; i < blocks.size(); ++i) {
    auto [out, activated] = blocks[i]->forward(h);
    if (kBlocks[i].level_start)
      stages.push_back(activated);
    h = out;
  }
  auto [out6, activated6] = b6->forward(h);
  stages.push_back(activated6);  // the b5 level's output, BN-ReLU'd
  h = b7->forward(out6).first;
  stages.push_back(torch::relu(bn7(h)));
  return stages;
}

torch::Tensor ResNet38dImpl::forward_features(const torch::Tensor& x) {
  return forward_stages(x).back();
}

std::vector<FreezeStage> ResNet38dImpl::freeze_stages() {
  std::vector<FreezeStage> stages{{{conv1a.ptr()}, {}}};
  for (const auto& [first, last] : {std::pair<size_t, size_t>{0, 3}, {3, 6}, {6, 12}, {12, 15}}) {
    FreezeStage stage;
    for (size_t i = first; i < last && i < blocks.size(); ++i)
      stage.modules.push_back(blocks[i].ptr());
    stages.push_back(stage);
  }
  stages.push_back({{b6.ptr()}, {}});
  stages.push_back({{b7.ptr(), bn7.ptr()}, {}});
  return stages;
}

}  // namespace pm::nn
