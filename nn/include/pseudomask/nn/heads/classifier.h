// SPDX-License-Identifier: MIT
#pragma once

// The multi-label image classifiers whose class activation maps seed WSSS: a backbone (ResNet
// or Res2Net at output stride 16, IRN's CAM network; ResNet-38 at output stride 8, PSA's; or a
// ViT) and a head (heads/cam_head.h: GAP then a bias-free 1x1 conv on the CNNs, a Linear on the
// ViT's class token), built by
// make_classifier_parts from the typed architecture.

#include <torch/nn/module.h>
#include <torch/nn/pimpl.h>

#include <memory>
#include <string>
#include <vector>

#include "pseudomask/nn/backbones/backbone.h"
#include "pseudomask/nn/backbones/resnet.h"
#include "pseudomask/nn/backbones/vit.h"
#include "pseudomask/nn/checkpoint/load.h"
#include "pseudomask/nn/heads/cam_head.h"

namespace pm::nn {

/// The classifier architectures.
enum class ClassifierArch {
  kResNet50,
  kResNet101,
  kResNetTiny,
  kResNet38d,
  kRes2Net101,
  kDeiTBase,
  kDeiTSmall,
  kDeiTTiny,
  kViTTiny
};

/// The architectures `--arch` accepts.
/// CNNs: resnet50, resnet101, resnet-tiny, resnet38d, res2net101 (v1b 26w×4s); ViTs: deit-base,
/// deit-small, deit-tiny, vit-tiny.
const std::vector<std::string>& classifier_archs();
/// ClassifierOptions::arch → ClassifierArch; throws pm::Error naming ClassifierOptions::arch.
ClassifierArch parse_classifier_arch(const std::string& arch);
/// Whether `arch` is a Vision Transformer.
bool is_vit(ClassifierArch arch);

/// Options of a classifier.
struct ClassifierOptions {
  std::string arch = "resnet50";  ///< one of classifier_archs()
  int num_classes = 20;           ///< foreground classes (no background)
  /// ViT: input side the position embeddings are made for (0 = 224); the CAM input size.
  int image_size = 0;
  /// ViT: how pretrained position embeddings are resampled to image_size's grid: "bicubic"
  /// (timm) or "bilinear" (ORANDNet's network/vit.py, 14x14 -> 32x32 for 512 px).
  std::string pos_embed_resample = "bicubic";
  /// CNN: BatchNorm uses its running statistics in training too (IRN's FixedBatchNorm).
  bool frozen_bn = true;
  /// frozen_stages' default: train_classifier freezes ClassifierParts::stem when it loads
  /// pretrained weights (IRN: ResNet conv1..layer2; ORANDNet: the ViT's patch_embed), nothing
  /// otherwise.
  static constexpr int kPretrainedStem = -2;
  /// Every BatchNorm of the backbone in eval mode while training, with or without pretrained
  /// weights (mmseg norm_eval; FreezeOptions::norm_eval).
  bool norm_eval = false;
  /// The backbone's stem and first N stages frozen (FreezeOptions::frozen_stages; -1 = none),
  /// or kPretrainedStem.
  int frozen_stages = kPretrainedStem;

  bool is_vit() const;
  /// Throws pm::Error naming the offending field.
  void validate() const;
};

/// What make_classifier_parts builds for an architecture.
struct ClassifierParts {
  Backbone backbone{nullptr};
  std::shared_ptr<ClassifierHeadImpl> head;
  /// How an ImageNet checkpoint of the backbone's family loads (torchvision ResNet, res38d,
  /// Res2Net, timm ViT).
  LoadRules pretrained_rules;
  /// The backbone's modules that CAM training freezes (ResNet and Res2Net: conv1, bn1, layer1,
  /// layer2, as IRN trains it; ResNet-38: conv1a, as PSA; ViT: patch_embed, as ORANDNet's code).
  std::vector<std::shared_ptr<torch::nn::Module>> stem;
};

/// The backbone and head of `arch` with options' classes, ViT image size and frozen BatchNorm.
ClassifierParts make_classifier_parts(ClassifierArch arch, const ClassifierOptions& options);

/// A multi-label classifier: `backbone` and the head's child `classifier`. Parameter names:
/// "backbone.<torchvision/timm name>", "classifier.weight" (and "classifier.bias" on a ViT).
struct ClassifierImpl : torch::nn::Module {
  explicit ClassifierImpl(const ClassifierOptions& options);

  /// x: (N, 3, H, W) ImageNet-normalised → logits (N, K).
  torch::Tensor forward(const torch::Tensor& x);
  /// CNN only: the CAMs before any ReLU, conv(features, W): (N, K, ~H/os, ~W/os), os the
  /// backbone's output stride (16; ResNet-38: 8).
  torch::Tensor class_maps(const torch::Tensor& x);

  /// Loads an ImageNet checkpoint of the backbone's family (torchvision ResNet, res38d, Res2Net
  /// v1b, timm/DeiT ViT) strictly (its ImageNet head is ignored); `name` is the path for messages.
  LoadReport load_pretrained(const Checkpoint& checkpoint, const std::string& name);
  /// Parameters of the backbone that train (all but the frozen stem).
  std::vector<torch::Tensor> backbone_parameters();
  /// Parameters of the new head (trained with a larger learning rate).
  std::vector<torch::Tensor> head_parameters();
  /// Stops gradients for the stem (ClassifierParts::stem).
  void freeze_stem();

  const ClassifierOptions& options() const { return options_; }
  bool is_vit() const { return options_.is_vit(); }
  /// The backbone as its concrete network; throws pm::Error naming the architecture if the
  /// backbone is of another kind.
  ResNetImpl& resnet();
  VisionTransformerImpl& vit();

  Backbone backbone{nullptr};

 private:
  ClassifierOptions options_;
  ClassifierParts parts_;
};
TORCH_MODULE(Classifier);

}  // namespace pm::nn
