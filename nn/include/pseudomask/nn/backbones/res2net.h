// SPDX-License-Identifier: MIT
#pragma once

// Res2Net v1b (Gao et al. 2021) with Bottle2neck blocks (base width 26, scale 4), in the layout
// of the official Res2Net-PretrainedModels res2net_v1b.py, so that res2net101_v1b_26w_4s .pth
// files load by name: the deep stem conv1.{0,1,3,4,6} (three 3x3 convs) and bn1; layerK.i with
// conv1/bn1, convs.j/bns.j, conv3/bn3 and downsample.{0 (AvgPool), 1 (conv), 2 (BN)}; fc.

#include <torch/nn/module.h>
#include <torch/nn/modules/batchnorm.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/modules/pooling.h>
#include <torch/nn/pimpl.h>

#include <vector>

#include "pseudomask/nn/backbones/backbone.h"

namespace pm::nn {

/// Options of a Res2Net v1b.
struct Res2NetOptions {
  /// Blocks per stage: {3, 4, 23, 3} is Res2Net-101, {3, 4, 6, 3} Res2Net-50.
  std::vector<int> layers{3, 4, 23, 3};
  /// Width of one split at 64 planes (26 → 26, 52, 104, 208 channels per split by stage).
  int base_width = 26;
  /// Number of splits of a block's 3x3 stage.
  int scale = 4;
  /// Output stride of the last stage: 32 (ImageNet), 16 or 8 (segmentation).
  int output_stride = 32;
  /// As ResNetOptions::dilate: removed strides become dilations (torchvision's rule: a stage's
  /// first block keeps the previous dilation, as mmseg's contract_dilation).
  bool dilate = false;
  /// As ResNetOptions::frozen_bn.
  bool frozen_bn = false;
  /// Outputs of the ImageNet `fc` head; 0 = none.
  int num_classes = 0;

  static Res2NetOptions res2net101_v1b() { return {}; }
  /// Channels of the last stage's output.
  int out_channels() const { return 2048; }
  /// Throws pm::Error naming the offending field.
  void validate() const;
};

/// Res2Net's Bottle2neck: 1x1 to width·scale; the splits go through scale − 1 3x3 convs, each
/// (after the first) adding the previous one's output, except in a stage's first block where
/// each split is convolved alone and the last is average-pooled (3x3, stride); 1x1 to 4·planes.
struct Bottle2neckImpl : torch::nn::Module {
  Bottle2neckImpl(int inplanes,
                  int planes,
                  int stride,
                  int dilation,
                  bool first_of_stage,
                  bool with_downsample,
                  const Res2NetOptions& options);
  torch::Tensor forward(const torch::Tensor& x);

  torch::nn::Conv2d conv1{nullptr}, conv3{nullptr};
  torch::nn::BatchNorm2d bn1{nullptr}, bn3{nullptr};
  torch::nn::ModuleList convs{nullptr}, bns{nullptr};
  torch::nn::AvgPool2d pool{nullptr};
  torch::nn::Sequential downsample{nullptr};

 private:
  int width_ = 0;
};
TORCH_MODULE(Bottle2neck);

/// Res2Net v1b: deep stem, max pool, layer1..layer4, optional fc.
struct Res2NetImpl : BackboneImpl {
  explicit Res2NetImpl(const Res2NetOptions& options);

  /// Logits (N, num_classes) with an fc head, else forward_features(x).
  torch::Tensor forward(const torch::Tensor& x);
  /// layer4's output: (N, 2048, ~H/os, ~W/os).
  torch::Tensor forward_features(const torch::Tensor& x) override;
  /// The outputs of layer1..layer4 (256, 512, 1024, 2048 channels).
  std::vector<torch::Tensor> forward_stages(const torch::Tensor& x) override;
  int out_channels() const override { return options_.out_channels(); }
  std::vector<int> stage_channels() const override { return {256, 512, 1024, 2048}; }
  int output_stride() const override { return options_.output_stride; }

  /// {conv1, bn1} (the deep stem), then layer1..layer4.
  std::vector<FreezeStage> freeze_stages() override;

  const Res2NetOptions& options() const { return options_; }

  torch::nn::Sequential conv1{nullptr};
  torch::nn::BatchNorm2d bn1{nullptr};
  torch::nn::Sequential layer1{nullptr}, layer2{nullptr}, layer3{nullptr}, layer4{nullptr};
  torch::nn::Linear fc{nullptr};

 private:
  torch::nn::Sequential make_layer(int planes, int blocks, int stride, bool dilate);

  Res2NetOptions options_;
  int inplanes_ = 64;
  int dilation_ = 1;
};
TORCH_MODULE(Res2Net);

}  // namespace pm::nn
