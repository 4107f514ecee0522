// SPDX-License-Identifier: MIT
#pragma once

// What a head reads from a backbone. ResNet, VGG and ViT implement it; the models
// (seg/seg_model.h, heads/classifier.h) hold a Backbone registered as "backbone", so the
// checkpoint keys are "backbone.<torchvision/timm name>" whichever network it is.

#include <torch/nn/module.h>
#include <torch/nn/pimpl.h>

#include <vector>

namespace pm::nn {

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
};
TORCH_MODULE(Backbone);

}  // namespace pm::nn
