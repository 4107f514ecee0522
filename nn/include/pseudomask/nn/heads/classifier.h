// SPDX-License-Identifier: MIT
#pragma once

// The multi-label image classifiers whose class activation maps seed WSSS: a CNN (ResNet, IRN's
// CAM network: GAP then a bias-free 1x1 conv) and a ViT (a Linear head on the class token).

#include <torch/nn/module.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/pimpl.h>

#include <string>
#include <vector>

#include "pseudomask/nn/backbones/resnet.h"
#include "pseudomask/nn/backbones/vit.h"
#include "pseudomask/nn/checkpoint/load.h"

namespace pm::nn {

/// The architectures `--arch` accepts.
/// CNNs: resnet50, resnet101, resnet-tiny; ViTs: deit-base, deit-small, deit-tiny, vit-tiny.
const std::vector<std::string>& classifier_archs();

/// Options of a classifier.
struct ClassifierOptions {
  std::string arch = "resnet50";  ///< one of classifier_archs()
  int num_classes = 20;           ///< foreground classes (no background)
  /// ViT: input side the position embeddings are made for (0 = 224); the CAM input size.
  int image_size = 0;
  /// CNN: BatchNorm uses its running statistics in training too (IRN's FixedBatchNorm).
  bool frozen_bn = true;

  bool is_vit() const;
  /// Throws pm::Error naming the offending field.
  void validate() const;
};

/// A multi-label classifier: `backbone` (ResNet at output stride 16, or ViT) and `classifier`
/// (CNN: Conv2d(C, K, 1) without bias after global average pooling, IRN's head; ViT: Linear(D, K)
/// on the class token). Parameter names: "backbone.<torchvision/timm name>", "classifier.weight".
struct ClassifierImpl : torch::nn::Module {
  explicit ClassifierImpl(const ClassifierOptions& options);

  /// x: (N, 3, H, W) ImageNet-normalised → logits (N, K).
  torch::Tensor forward(const torch::Tensor& x);
  /// CNN only: the CAMs before any ReLU, conv(features, W): (N, K, ~H/16, ~W/16).
  torch::Tensor class_maps(const torch::Tensor& x);

  /// Loads an ImageNet checkpoint of the backbone's family (torchvision ResNet, timm/DeiT ViT)
  /// strictly (its ImageNet head is ignored); `name` is the path for messages.
  LoadReport load_pretrained(const Checkpoint& checkpoint, const std::string& name);
  /// Parameters of the backbone that train (CNN: layer3, layer4, as IRN trains them; ViT:
  /// everything but patch_embed, as ORANDNet's code does).
  std::vector<torch::Tensor> backbone_parameters();
  /// Parameters of the new head (trained with a larger learning rate).
  std::vector<torch::Tensor> head_parameters();
  /// Stops gradients for the frozen parts (CNN: conv1, bn1, layer1, layer2; ViT: patch_embed).
  void freeze_stem();

  const ClassifierOptions& options() const { return options_; }
  bool is_vit() const { return options_.is_vit(); }

  ResNet resnet{nullptr};
  VisionTransformer vit{nullptr};
  torch::nn::Conv2d conv_head{nullptr};
  torch::nn::Linear linear_head{nullptr};

 private:
  ClassifierOptions options_;
};
TORCH_MODULE(Classifier);

}  // namespace pm::nn
