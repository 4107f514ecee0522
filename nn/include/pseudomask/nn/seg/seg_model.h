// SPDX-License-Identifier: MIT
#pragma once

// Segmentation models on a backbone at output stride 8 (a dilated torchvision-layout ResNet,
// ResNet-38 or Res2Net-101 v1b, each with its published names, so ImageNet .pth files load into
// `backbone.*`): DeepLab-LargeFOV (v1 head), DeepLab-v2 (ASPP, sum of four
// dilated 3x3 classifiers) and PSPNet (pyramid pooling) with an FCN auxiliary head on stage 3,
// as URN/PMM train it. "-tiny" variants use ResNetOptions::tiny() for tests and synthetic data.

#include <torch/nn/module.h>
#include <torch/nn/pimpl.h>

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "pseudomask/core/io/torch/checkpoint.h"
#include "pseudomask/nn/backbones/backbone.h"
#include "pseudomask/nn/heads/seg_heads.h"

namespace pm::nn {

/// Segmentation heads (heads/seg_heads.h).
enum class SegHeadKind { kLargeFov, kDeepLabV2, kPspNet };
/// Segmentation backbones at output stride 8: dilated ResNets, ResNet-38 and Res2Net-101 v1b.
enum class SegBackboneKind { kResNet50, kResNet101, kResNetTiny, kResNet38d, kRes2Net101 };

/// A segmentation architecture in typed form.
struct SegArch {
  SegHeadKind head = SegHeadKind::kDeepLabV2;
  SegBackboneKind backbone = SegBackboneKind::kResNetTiny;
};

/// "<head>-<backbone>" (SegModelOptions::arch) → SegArch; throws pm::Error naming
/// SegModelOptions::arch on an unknown name.
SegArch parse_seg_arch(const std::string& arch);

/// Architecture of a segmentation model.
struct SegModelOptions {
  /// <head>-<backbone>: head deeplab-largefov, deeplabv2 or pspnet; backbone resnet50, resnet101,
  /// tiny, resnet38d or res2net101 (e.g. "deeplabv2-resnet101", "deeplab-largefov-resnet38d").
  std::string arch = "deeplabv2-tiny";
  int num_classes = 21;  ///< including background
  /// BatchNorm uses its running statistics and does not update them (with ImageNet weights).
  bool frozen_bn = false;
  /// Every BatchNorm of the backbone in eval mode while training, with or without pretrained
  /// weights (mmseg norm_eval, as URN trains PSPNet; FreezeOptions::norm_eval).
  bool norm_eval = false;
  /// The backbone's stem and first N stages frozen (mmseg frozen_stages; -1 = none).
  int frozen_stages = -1;
  /// Every supported architecture name.
  static std::vector<std::string> archs();
  /// Throws pm::Error naming SegModelOptions::arch / num_classes.
  void validate() const;
};

/// The backbone of `arch` at output stride 8: a dilated ResNet or Res2Net (strides (1, 2, 1, 1),
/// dilations (1, 1, 2, 4)) in torchvision's / Res2Net's layout, or ResNet-38 (b5 dilation 2,
/// b6/b7 dilation 4).
Backbone make_seg_backbone(SegBackboneKind kind, bool frozen_bn);
/// The head of `arch` on `backbone`'s stages, its widths the published ones for ResNet-50/101
/// and scaled down for the tiny backbone.
std::shared_ptr<SegHeadImpl> make_seg_head(const SegArch& arch,
                                           const BackboneImpl& backbone,
                                           int num_classes);

/// A segmentation model: a backbone ("backbone.*") and a head whose children are registered on
/// the model under their own names (decode.*, aspp.*, ppm.*, aux.*), built by make_seg_backbone
/// and make_seg_head.
struct SegModelImpl : torch::nn::Module {
  explicit SegModelImpl(const SegModelOptions& options);

  /// x: (N, 3, H, W) ImageNet-normalised → logits (N, C, ⌈H/8⌉, ⌈W/8⌉) (+ aux in train mode).
  SegOutput forward(const torch::Tensor& x);
  /// Logits bilinearly upsampled to the input size (align_corners=False), for inference.
  torch::Tensor predict_logits(const torch::Tensor& x);
  /// Like Module::train (frozen BatchNorm stays in eval mode), the head included.
  void train(bool on = true) override;

  /// Loads ImageNet weights of the backbone's family into the backbone (torchvision ResNet,
  /// res38d, official Res2Net; their ImageNet heads ignored), or the backbone of a `train-cls`
  /// checkpoint of the same architecture; throws naming `name` on a missing or mismatched
  /// tensor.
  void load_pretrained_backbone(const Checkpoint& ckpt, const std::string& name);
  /// Parameters of the backbone ("backbone.*") and of the new heads, by name.
  std::vector<std::pair<std::string, torch::Tensor>> backbone_parameters();
  std::vector<std::pair<std::string, torch::Tensor>> head_parameters();

  const SegModelOptions& options() const { return options_; }
  SegHeadImpl& head() { return *head_; }

  Backbone backbone{nullptr};

 private:
  SegModelOptions options_;
  std::shared_ptr<SegHeadImpl> head_;
};
TORCH_MODULE(SegModel);

}  // namespace pm::nn
