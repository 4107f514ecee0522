// SPDX-License-Identifier: MIT
#pragma once

// ResNet with Bottleneck blocks in torchvision's layout (He et al. 2016, "v1.5": the stride is on
// the 3x3 conv), so that torchvision's resnet50/resnet101 .pth files load by name.

#include <torch/nn/module.h>
#include <torch/nn/modules/batchnorm.h>
#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/pimpl.h>

#include <vector>

#include "pseudomask/nn/backbones/backbone.h"

namespace pm::nn {

/// Options of a torchvision-layout ResNet with Bottleneck blocks.
struct ResNetOptions {
  /// Blocks per stage: {3, 4, 6, 3} is ResNet-50, {3, 4, 23, 3} ResNet-101.
  std::vector<int> layers{3, 4, 6, 3};
  /// Channels of conv1; the stages have width·{1, 2, 4, 8} planes and 4× as many outputs.
  int width = 64;
  /// Output stride of the last stage: 32 (ImageNet), 16 (CAMs, IRN) or 8 (segmentation).
  int output_stride = 32;
  /// How strides are removed below 32: true = dilation takes their place (torchvision's
  /// replace_stride_with_dilation, DeepLab); false = the stride is simply 1 (IRN's CAM network).
  bool dilate = false;
  /// BatchNorm always normalises with its running statistics and never updates them, in train
  /// mode too (IRN's FixedBatchNorm); the affine parameters still train.
  bool frozen_bn = false;
  /// Outputs of the ImageNet-style `fc` head; 0 = no head (features only).
  int num_classes = 0;

  static ResNetOptions resnet50() { return {}; }
  static ResNetOptions resnet101() {
    ResNetOptions o;
    o.layers = {3, 4, 23, 3};
    return o;
  }
  /// One block per stage and width 8: a ResNet for tests and the synthetic dataset.
  static ResNetOptions tiny() {
    ResNetOptions o;
    o.layers = {1, 1, 1, 1};
    o.width = 8;
    return o;
  }
  /// Channels of the last stage's output (width · 32).
  int out_channels() const { return width * 32; }
  /// Throws pm::Error naming the offending field.
  void validate() const;
};

/// torchvision's Bottleneck: 1x1 → 3x3 (stride, dilation) → 1x1 with 4× expansion, plus an
/// identity or `downsample` (1x1 conv + BN) shortcut.
struct BottleneckImpl : torch::nn::Module {
  BottleneckImpl(int inplanes, int planes, int stride, int dilation, bool with_downsample);
  /// x: (N, inplanes, H, W) → (N, 4·planes, H/stride, W/stride).
  torch::Tensor forward(const torch::Tensor& x);

  torch::nn::Conv2d conv1{nullptr}, conv2{nullptr}, conv3{nullptr};
  torch::nn::BatchNorm2d bn1{nullptr}, bn2{nullptr}, bn3{nullptr};
  torch::nn::Sequential downsample{nullptr};
};
TORCH_MODULE(Bottleneck);

/// ResNet with parameter names conv1, bn1, layer1..layer4 (layerK.i.conv1 ...,
/// layerK.0.downsample.{0,1}) and fc, as in torchvision.
struct ResNetImpl : BackboneImpl {
  explicit ResNetImpl(const ResNetOptions& options);

  /// x: (N, 3, H, W) float32, ImageNet-normalised. Returns the logits (N, num_classes) if the
  /// model has an `fc` head, else features().
  torch::Tensor forward(const torch::Tensor& x);
  /// The last stage's output: (N, out_channels, ~H/os, ~W/os).
  torch::Tensor features(const torch::Tensor& x);
  /// The outputs of layer1..layer4 (strides 4, 8, 16/8, 32/16/8).
  std::vector<torch::Tensor> stage_outputs(const torch::Tensor& x);
  /// Backbone: features() and stage_outputs().
  torch::Tensor forward_features(const torch::Tensor& x) override { return features(x); }
  std::vector<torch::Tensor> forward_stages(const torch::Tensor& x) override {
    return stage_outputs(x);
  }
  int out_channels() const override { return options_.out_channels(); }
  /// width · {4, 8, 16, 32}.
  std::vector<int> stage_channels() const override;
  int output_stride() const override { return options_.output_stride; }
  /// {conv1, bn1}, then layer1..layer4.
  std::vector<FreezeStage> freeze_stages() override;

  const ResNetOptions& options() const { return options_; }

  torch::nn::Conv2d conv1{nullptr};
  torch::nn::BatchNorm2d bn1{nullptr};
  torch::nn::Sequential layer1{nullptr}, layer2{nullptr}, layer3{nullptr}, layer4{nullptr};
  torch::nn::Linear fc{nullptr};

 private:
  torch::nn::Sequential make_layer(int planes, int blocks, int stride, bool dilate);

  ResNetOptions options_;
  int inplanes_ = 0;
  int dilation_ = 1;
};
TORCH_MODULE(ResNet);

}  // namespace pm::nn
