// SPDX-License-Identifier: MIT
#pragma once

// VGG (Simonyan & Zisserman 2015) in torchvision's layout: `features` holds the convolutions at
// torchvision's indices (features.0, features.2, ...). The fully connected fc6/fc7 are
// convolutions here (7x7 and 1x1, as in FCN); torchvision's classifier.0/.3 Linear weights are
// reshaped into them when a checkpoint is loaded (see checkpoint/load.h, vgg_rules()).

#include <torch/nn/module.h>
#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/pimpl.h>

#include <vector>

#include "pseudomask/nn/backbones/backbone.h"

namespace pm::nn {

/// A max-pool entry in VGGOptions::config.
constexpr int kVggPool = 0;

/// Options of a VGG network.
struct VGGOptions {
  /// Conv widths in order, kVggPool for a 2x2 max-pool (torchvision's cfg "D" is VGG16).
  std::vector<int> config{64,
                          64,
                          kVggPool,
                          128,
                          128,
                          kVggPool,
                          256,
                          256,
                          256,
                          kVggPool,
                          512,
                          512,
                          512,
                          kVggPool,
                          512,
                          512,
                          512,
                          kVggPool};
  /// Input channels of the first conv (1 for ORANDNet's CAM-to-CAM FCN).
  int in_channels = 3;
  /// Padding of the first conv (FCN-8s uses 100 so that any input size survives the fc6 7x7).
  int first_padding = 1;
  /// Max-pools round their output size up (FCN) instead of down (torchvision).
  bool ceil_mode = false;
  /// Width of fc6/fc7; 0 = no fc6/fc7 (features only).
  int fc_channels = 4096;
  /// Kernel of fc6 (7 in VGG16: its Linear sees a 7x7 map).
  int fc6_kernel = 7;
  /// Dropout after fc6 and fc7 (train mode only).
  double dropout = 0.5;

  static VGGOptions vgg16() { return {}; }
  /// VGG16 with every width divided by 16 and fc 32: for tests.
  static VGGOptions tiny();
  /// Channels of the last conv.
  int feature_channels() const;
  /// Throws pm::Error naming the offending field.
  void validate() const;
};

/// VGG with `features` (torchvision indices) and convolutional fc6 / fc7.
struct VGGImpl : BackboneImpl {
  explicit VGGImpl(const VGGOptions& options);

  /// x: (N, in_channels, H, W) → the fc7 activations (after ReLU and dropout), or the features
  /// if fc_channels is 0.
  torch::Tensor forward(const torch::Tensor& x);
  /// The conv stack's output, (N, feature_channels, H/32, W/32) with the default padding.
  torch::Tensor features_forward(const torch::Tensor& x);
  /// Backbone: forward() (fc7, or the conv features without fc6/fc7).
  torch::Tensor forward_features(const torch::Tensor& x) override { return forward(x); }
  int out_channels() const override;
  /// 2^(number of max-pools).
  int output_stride() const override;
  /// No stem; one stage per conv block of `features`, each up to and including its max-pool
  /// (VGG16: 5), as mmcv's VGG counts frozen_stages. fc6/fc7 are not a stage.
  std::vector<FreezeStage> freeze_stages() override;

  const VGGOptions& options() const { return options_; }

  torch::nn::Sequential features{nullptr};
  torch::nn::Conv2d fc6{nullptr}, fc7{nullptr};

 private:
  void init_like_torchvision();

  VGGOptions options_;
};
TORCH_MODULE(VGG);

}  // namespace pm::nn
