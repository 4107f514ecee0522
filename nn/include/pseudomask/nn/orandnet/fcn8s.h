// SPDX-License-Identifier: MIT
#pragma once

// ORANDNet's network (Park & Shim, "Precision matters", network/encdec.py of the official code):
// an FCN-8s (Long et al. 2015) on VGG16 without BatchNorm that maps one class's OR CAM (one
// channel) to one output channel. conv1_1 is new (1 input channel, padding 100), fc6/fc7 are
// convolutions, 1x1 score layers read pool3, pool4 and fc7, and trainable transposed convolutions
// initialised to bilinear kernels upsample; the maps are fused after centred crops.

#include <torch/nn/module.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/pimpl.h>

#include <array>
#include <string>
#include <vector>

#include "pseudomask/core/io/torch/checkpoint.h"
#include "pseudomask/nn/backbones/vgg.h"
#include "pseudomask/nn/checkpoint/load.h"

namespace pm::nn {

/// Options of the ORANDNet FCN-8s.
struct Fcn8sOptions {
  /// "vgg16" (the paper's widths), "small" (widths / 8, fc 256: for the synthetic dataset) or
  /// "tiny" (widths / 16, fc 32: for tests).
  std::string width = "vgg16";
  /// The official code's crop: the offset is computed from the heights and reused for the width
  /// (network/encdec.py). false: a centred crop per axis.
  bool official_crop = false;
  /// Dropout2d after fc6 and fc7 (train mode only).
  double dropout = 0.5;

  /// The VGG backbone these options describe: 1 input channel, first padding 100, ceil-mode
  /// pools. Throws pm::Error on an unknown width.
  VGGOptions vgg_options() const;
};

/// The 1-D taps of a bilinear upsampling kernel of size k (FCN's upsample_filt):
/// w_i = 1 − |i − c| / f with f = ⌈k/2⌉ and c = f − 1 (k odd) or f − 0.5 (k even).
std::vector<float> bilinear_taps(int k);

/// The (top, left) offset at which a (small_h, small_w) window is cut from a (big_h, big_w) map:
/// per axis ((big − small) / 2, floored), or with `official` the height's offset for both axes.
/// Throws pm::Error if the window does not fit.
std::array<int64_t, 2> crop_offsets(
    int64_t big_h, int64_t big_w, int64_t small_h, int64_t small_w, bool official);

/// FCN-8s with one input and one output channel.
struct Fcn8sImpl : torch::nn::Module {
  explicit Fcn8sImpl(const Fcn8sOptions& options = {});

  /// x: (N, 1, H, W) → logits (N, 1, H, W), for any H, W ≥ 1.
  torch::Tensor forward(const torch::Tensor& x);

  const Fcn8sOptions& options() const { return options_; }

  /// Encoder (features.* at torchvision's indices) and fc6/fc7 as convolutions.
  VGG vgg{nullptr};
  torch::nn::Conv2d score_fr{nullptr}, score_pool4{nullptr}, score_pool3{nullptr};
  /// ×2, ×2 and ×8 transposed convolutions (k 4, 4, 16), no bias, bilinear at init.
  torch::nn::ConvTranspose2d upscore2{nullptr}, upscore_pool4{nullptr}, upscore8{nullptr};

 private:
  torch::Tensor crop_to(const torch::Tensor& big, int64_t h, int64_t w) const;
  Fcn8sOptions options_;
};
TORCH_MODULE(Fcn8s);

/// Copies torchvision VGG16 ImageNet weights (vgg16-397923af.pth) into the encoder: every
/// convolution except conv1_1 (features.0, which has one input channel here and keeps its random
/// initialisation), and classifier.0 / classifier.3 reshaped into fc6 / fc7; classifier.6 is
/// ignored. Strict otherwise: throws pm::Error starting with `name` on a missing or mismatched
/// tensor (e.g. a width other than "vgg16").
LoadReport load_vgg16_imagenet(Fcn8s& net, const Checkpoint& checkpoint, const std::string& name);

}  // namespace pm::nn
