// SPDX-License-Identifier: MIT
#pragma once

// Classification heads of the CAM networks: IRN's CAM head on a CNN's feature map (global
// average pooling, then a bias-free 1x1 conv whose weights give the class activation maps) and
// a Linear on a ViT's class token.
//
// Checkpoint keys: like the segmentation heads, a classification head is not registered on the
// model as one module; the model registers its child "classifier" (classifier.weight, and
// classifier.bias for the Linear).

#include <torch/nn/module.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/pimpl.h>

namespace pm::nn {

/// A multi-label classification head on a backbone's forward_features().
struct ClassifierHeadImpl : torch::nn::Module {
  /// features → logits (N, K).
  virtual torch::Tensor forward(const torch::Tensor& features) = 0;
};

/// IRN's resnet50_cam head: GAP, then Conv2d(C, K, 1) without bias.
struct CamHeadImpl : ClassifierHeadImpl {
  /// The conv is initialised with xavier_uniform (IRN uses PyTorch's default; xavier keeps the
  /// initial logits small for any width).
  CamHeadImpl(int in_channels, int num_classes);
  /// features (N, C, h, w) → logits (N, K).
  torch::Tensor forward(const torch::Tensor& features) override;
  /// The CAMs before any ReLU, conv(features, W): (N, K, h, w).
  torch::Tensor class_maps(const torch::Tensor& features);
  torch::nn::Conv2d classifier{nullptr};
};
TORCH_MODULE(CamHead);

/// A Linear(D, K) on the class token (token 0) of a ViT's tokens.
struct ClassTokenHeadImpl : ClassifierHeadImpl {
  ClassTokenHeadImpl(int in_channels, int num_classes);
  /// tokens (N, T, D) → logits (N, K).
  torch::Tensor forward(const torch::Tensor& tokens) override;
  torch::nn::Linear classifier{nullptr};
};
TORCH_MODULE(ClassTokenHead);

}  // namespace pm::nn
