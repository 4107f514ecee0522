// SPDX-License-Identifier: MIT
#pragma once

// Wide ResNet-38 ("model A1", Wu et al. 2019) as the WSSS code of the PSA/SEAM era uses it
// ("resnet38d": output stride 8 by dilation), with the parameter names of its converted
// ImageNet weights (conv1a, b2, b2_1, ..., b7, bn7; bn_branch2a, conv_branch2a, ...), so that
// such a res38d .pth loads by name. Pre-activation blocks: each block starts with BN-ReLU, and
// the 1x1 shortcut (conv_branch1) of a block that changes the shape reads that activated input.

#include <torch/nn/module.h>
#include <torch/nn/modules/batchnorm.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/dropout.h>
#include <torch/nn/pimpl.h>

#include <utility>
#include <vector>

#include "pseudomask/nn/backbones/backbone.h"

namespace pm::nn {

/// Options of ResNet-38.
struct ResNet38dOptions {
  /// BatchNorm always normalises with its running statistics (as PSA and SEAM train it); the
  /// affine parameters still train.
  bool frozen_bn = false;
};

/// The basic pre-activation block: BN-ReLU, 3x3 (stride, first dilation) to `mid`, BN-ReLU,
/// 3x3 (dilation) to `out`; shortcut identity or conv_branch1 (1x1, stride) on the activated
/// input.
struct ResBlock38Impl : torch::nn::Module {
  ResBlock38Impl(int in, int mid, int out, int stride, int first_dilation, int dilation);
  /// x: (N, in, H, W) → {block output (N, out, H/stride, W/stride), relu(bn_branch2a(x))}.
  std::pair<torch::Tensor, torch::Tensor> forward(const torch::Tensor& x);

  torch::nn::BatchNorm2d bn_branch2a{nullptr}, bn_branch2b1{nullptr};
  torch::nn::Conv2d conv_branch2a{nullptr}, conv_branch2b1{nullptr}, conv_branch1{nullptr};
};
TORCH_MODULE(ResBlock38);

/// The bottleneck pre-activation block of b6/b7: BN-ReLU, 1x1 to out/4, BN-ReLU, Dropout2d,
/// 3x3 (dilation) to out/2, BN-ReLU, Dropout2d, 1x1 to out; shortcut conv_branch1 (1x1).
struct ResBlock38BotImpl : torch::nn::Module {
  ResBlock38BotImpl(int in, int out, int dilation, double dropout);
  /// x: (N, in, H, W) → {block output (N, out, H, W), relu(bn_branch2a(x))}.
  std::pair<torch::Tensor, torch::Tensor> forward(const torch::Tensor& x);

  torch::nn::BatchNorm2d bn_branch2a{nullptr}, bn_branch2b1{nullptr}, bn_branch2b2{nullptr};
  torch::nn::Conv2d conv_branch2a{nullptr}, conv_branch2b1{nullptr}, conv_branch2b2{nullptr},
      conv_branch1{nullptr};
  torch::nn::Dropout2d dropout_2b1{nullptr}, dropout_2b2{nullptr};
};
TORCH_MODULE(ResBlock38Bot);

/// ResNet-38 at output stride 8: conv1a (3x3, 64) at full resolution; b2 (128), b3 (256), b4
/// (512) each halving the resolution in their first block; b5 (1024, dilation 2, its first conv
/// not dilated); b6 (2048) and b7 (4096) bottlenecks with dilation 4 and Dropout2d 0.3 / 0.5;
/// bn7.
struct ResNet38dImpl : BackboneImpl {
  explicit ResNet38dImpl(const ResNet38dOptions& options = {});

  /// x: (N, 3, H, W) ImageNet-normalised → relu(bn7(b7(...))): (N, 4096, ⌈H/8⌉, ⌈W/8⌉).
  torch::Tensor forward(const torch::Tensor& x) { return forward_features(x); }
  torch::Tensor forward_features(const torch::Tensor& x) override;
  /// The outputs of the b2, b3, b4 and b5 levels after the next block's BN-ReLU (as PSA reads
  /// "conv4"/"conv5"; strides 2, 4, 8, 8; 128, 256, 512, 1024 channels), then
  /// forward_features (4096).
  std::vector<torch::Tensor> forward_stages(const torch::Tensor& x) override;
  int out_channels() const override { return 4096; }
  std::vector<int> stage_channels() const override { return {128, 256, 512, 1024, 4096}; }
  int output_stride() const override { return 8; }

  /// {conv1a}, then b2, b3, b4, b5 (each with its _k blocks), b6 and {b7, bn7}.
  std::vector<FreezeStage> freeze_stages() override;

  const ResNet38dOptions& options() const { return options_; }

  torch::nn::Conv2d conv1a{nullptr};
  /// b2, b2_1, b2_2, b3, b3_1, b3_2, b4, b4_1..b4_5, b5, b5_1, b5_2, in order.
  std::vector<ResBlock38> blocks;
  ResBlock38Bot b6{nullptr}, b7{nullptr};
  torch::nn::BatchNorm2d bn7{nullptr};

 private:
  ResNet38dOptions options_;
};
TORCH_MODULE(ResNet38d);

}  // namespace pm::nn
