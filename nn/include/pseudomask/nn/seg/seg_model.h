// SPDX-License-Identifier: MIT
#pragma once

// Segmentation models on a dilated ResNet at output stride 8 (torchvision layout, so ImageNet
// .pth files load into `backbone.*`): DeepLab-LargeFOV (v1 head), DeepLab-v2 (ASPP, sum of four
// dilated 3x3 classifiers) and PSPNet (pyramid pooling) with an FCN auxiliary head on stage 3,
// as URN/PMM train it. "-tiny" variants use ResNetOptions::tiny() for tests and synthetic data.

#include <torch/nn/module.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/pimpl.h>

#include <string>
#include <vector>

#include "pseudomask/core/io/torch/checkpoint.h"
#include "pseudomask/nn/backbones/resnet.h"

namespace pm::nn {

/// Architecture of a segmentation model.
struct SegModelOptions {
  /// <head>-<backbone>: head deeplab-largefov, deeplabv2 or pspnet; backbone resnet50, resnet101
  /// or tiny (e.g. "deeplabv2-resnet101", "pspnet-tiny").
  std::string arch = "deeplabv2-tiny";
  int num_classes = 21;  ///< including background
  /// BatchNorm uses its running statistics and does not update them (with ImageNet weights).
  bool frozen_bn = false;
  /// Every supported architecture name.
  static std::vector<std::string> archs();
  /// Throws pm::Error naming SegModelOptions::arch / num_classes.
  void validate() const;
  std::string head() const;      ///< "deeplab-largefov", "deeplabv2" or "pspnet"
  std::string backbone() const;  ///< "resnet50", "resnet101" or "tiny"
  /// Whether the model has an auxiliary head (PSPNet).
  bool has_aux() const { return head() == "pspnet"; }
};

/// Logits at feature resolution (about 1/8 of the input); `aux` is undefined without an
/// auxiliary head or in eval mode.
struct SegOutput {
  torch::Tensor logits;
  torch::Tensor aux;
};

/// PSPNet's pyramid pooling module (Zhao et al. 2017, Sec. 3.2): adaptive average pooling to
/// bins 1, 2, 3, 6, a 1x1 conv+BN+ReLU each, upsampled and concatenated with the input.
struct PyramidPoolingImpl : torch::nn::Module {
  PyramidPoolingImpl(int in_channels, int branch_channels);
  torch::Tensor forward(const torch::Tensor& x);
  torch::nn::ModuleList stages{nullptr};
  std::vector<int> bins{1, 2, 3, 6};
};
TORCH_MODULE(PyramidPooling);

/// A segmentation model: backbone + decode head (+ auxiliary head).
struct SegModelImpl : torch::nn::Module {
  explicit SegModelImpl(const SegModelOptions& options);

  /// x: (N, 3, H, W) ImageNet-normalised → logits (N, C, ⌈H/8⌉, ⌈W/8⌉) (+ aux in train mode).
  SegOutput forward(const torch::Tensor& x);
  /// Logits bilinearly upsampled to the input size (align_corners=False), for inference.
  torch::Tensor predict_logits(const torch::Tensor& x);
  /// Like Module::train, but frozen BatchNorm stays in eval mode.
  void train(bool on = true) override;

  /// Loads torchvision ImageNet ResNet weights into the backbone (fc ignored); throws naming
  /// `name` on a missing or mismatched tensor.
  void load_pretrained_backbone(const Checkpoint& ckpt, const std::string& name);
  /// Parameters of the backbone ("backbone.*") and of the new heads, by name.
  std::vector<std::pair<std::string, torch::Tensor>> backbone_parameters();
  std::vector<std::pair<std::string, torch::Tensor>> head_parameters();

  const SegModelOptions& options() const { return options_; }

  ResNet backbone{nullptr};
  torch::nn::Sequential decode{nullptr};  ///< LargeFOV / PSP head (not ASPP)
  torch::nn::ModuleList aspp{nullptr};    ///< DeepLab-v2: four dilated classifiers, summed
  PyramidPooling ppm{nullptr};            ///< PSPNet
  torch::nn::Sequential aux{nullptr};     ///< PSPNet: FCN head on stage 3

 private:
  SegModelOptions options_;
};
TORCH_MODULE(SegModel);

}  // namespace pm::nn
