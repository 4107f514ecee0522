// SPDX-License-Identifier: MIT
#pragma once

// What a head reads from a backbone. ResNet, VGG and ViT implement it; the models
// (seg/seg_model.h, heads/classifier.h) hold a Backbone registered as "backbone", so the
// checkpoint keys are "backbone.<torchvision/timm name>" whichever network it is.

#include <torch/nn/module.h>
#include <torch/nn/pimpl.h>

#include <memory>
#include <string>
#include <vector>

namespace pm::nn {

/// What a backbone keeps still while it trains (mmseg's norm_eval and frozen_stages), applied
/// by BackboneImpl::set_freeze and kept by BackboneImpl::train.
struct FreezeOptions {
  /// Every BatchNorm of the backbone stays in eval mode: it normalises with its running
  /// statistics and never updates them; its affine weight and bias still train (mmseg
  /// norm_eval=True, as URN trains ResNet-101).
  bool norm_eval = false;
  /// The stem and stages 1..N stay in eval mode with requires_grad=false; -1 = nothing frozen,
  /// 0 = the stem only (mmseg frozen_stages). What a stage is: BackboneImpl::freeze_stages().
  int frozen_stages = -1;
};

/// One unit of frozen_stages: the modules it puts in eval mode and whose parameters it freezes,
/// and parameters that belong to no module of their own (a ViT's cls_token and pos_embed).
struct FreezeStage {
  std::vector<std::shared_ptr<torch::nn::Module>> modules;
  std::vector<torch::Tensor> parameters;
};

/// What a backbone's freezing amounts to after train(): for logs, summaries and tests.
struct FreezeState {
  int frozen_parameters = 0;  ///< parameter tensors with requires_grad=false
  int trainable_parameters = 0;
  int norm_layers = 0;       ///< BatchNorm layers
  int norm_layers_eval = 0;  ///< of those, in eval mode
};

/// A feature extractor. Stride and dilation are options of the concrete network
/// (ResNetOptions::output_stride / dilate, ViTOptions::patch_size, the VGG pools).
struct BackboneImpl : torch::nn::Module {
  /// The features the heads read: a CNN's last stage (N, C, ~H/stride, ~W/stride); a ViT's
  /// tokens after the final norm (N, 1 + patches, C), the class token first.
  virtual torch::Tensor forward_features(const torch::Tensor& x) = 0;
  /// The output of every stage, shallowest first; the last is forward_features(x). Heads with
  /// auxiliary branches read the earlier ones.
  virtual std::vector<torch::Tensor> forward_stages(const torch::Tensor& x) {
    return {forward_features(x)};
  }
  /// Channels of forward_features(): C.
  virtual int out_channels() const = 0;
  /// Channels of each forward_stages() output.
  virtual std::vector<int> stage_channels() const { return {out_channels()}; }
  /// Input pixels per feature along a side.
  virtual int output_stride() const = 0;

  /// The units frozen_stages counts: the stem first (it may be empty), then stage 1, 2, ...
  /// ResNet: {conv1, bn1}, layer1..layer4; VGG: no stem, the five conv blocks (each up to its
  /// max-pool; fc6/fc7 never freeze); ViT: {patch_embed, cls_token, pos_embed}, then each
  /// block. A backbone without stages (the default) accepts only frozen_stages -1.
  virtual std::vector<FreezeStage> freeze_stages() { return {}; }
  /// Applies `options` now (requires_grad=false on the frozen stages, eval mode per train())
  /// and keeps it for every later train(). Throws pm::Error naming `field` when frozen_stages is
  /// below -1 or above the number of stages.
  void set_freeze(const FreezeOptions& options,
                  const std::string& field = "FreezeOptions::frozen_stages");
  const FreezeOptions& freeze() const { return freeze_; }
  /// Counts what is frozen now (parameters without gradient, BatchNorm layers in eval mode).
  FreezeState freeze_state() const;
  /// Module::train, then the BatchNorm layers (norm_eval, or a network built with frozen
  /// BatchNorm) and the frozen stages back in eval mode. Subclasses that override it call it
  /// first.
  void train(bool on = true) override;

 protected:
  /// Networks built with frozen BatchNorm (IRN's FixedBatchNorm: ResNetOptions::frozen_bn and
  /// its likes) keep every BatchNorm in eval mode in training too, whatever set_freeze says.
  void set_fixed_batch_norm(bool on) { fixed_batch_norm_ = on; }

 private:
  FreezeOptions freeze_;
  bool fixed_batch_norm_ = false;
};
TORCH_MODULE(Backbone);

}  // namespace pm::nn
