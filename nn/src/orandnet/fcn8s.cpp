// SPDX-License-Identifier: MIT
#include "pseudomask/nn/orandnet/fcn8s.h"

#include <c10/util/StringUtil.h>
#include <torch/nn/functional/dropout.h>
#include <torch/nn/init.h>
#include <torch/nn/modules/pooling.h>

#include <cmath>

#include "pseudomask/core/common/error.h"

namespace pm::nn {
namespace {

torch::nn::ConvTranspose2d bilinear_upsampler(int kernel, int stride) {
  torch::nn::ConvTranspose2d up(
      torch::nn::ConvTranspose2dOptions(1, 1, kernel).stride(stride).bias(false));
  const std::vector<float> taps = bilinear_taps(kernel);
  const torch::Tensor t = torch::tensor(taps);
  torch::NoGradGuard no_grad;
  up->weight.copy_(torch::outer(t, t).view({1, 1, kernel, kernel}));
  return up;
}

torch::nn::Conv2d score_layer(int in_channels) {
  torch::nn::Conv2d conv(torch::nn::Conv2dOptions(in_channels, 1, 1));
  torch::nn::init::xavier_normal_(conv->weight);  // official encdec.py; bias keeps torch's init
  return conv;
}

}  // namespace

VGGOptions Fcn8sOptions::vgg_options() const {
  VGGOptions o;
  int divisor = 1;
  if (width == "vgg16") {
    divisor = 1;
  } else if (width == "small") {
    divisor = 8;
    o.fc_channels = 256;
  } else if (width == "tiny") {
    divisor = 16;
    o.fc_channels = 32;
  } else {
    PM_FAIL("ORANDNet: unknown width '{}' (expected vgg16, small or tiny)", width);
  }
  for (int& c : o.config)
    c /= divisor;
  o.in_channels = 1;
  o.first_padding = 100;
  o.ceil_mode = true;
  o.dropout = dropout;
  return o;
}

std::vector<float> bilinear_taps(int k) {
  PM_CHECK(k >= 1, "bilinear kernel size must be positive, got {}", k);
  const int f = (k + 1) / 2;
  const double c = (k % 2 == 1) ? f - 1 : f - 0.5;
  std::vector<float> taps(k);
  for (int i = 0; i < k; ++i)
    taps[i] = static_cast<float>(1.0 - std::abs(i - c) / f);
  return taps;
}

std::array<int64_t, 2> crop_offsets(
    int64_t big_h, int64_t big_w, int64_t small_h, int64_t small_w, bool official) {
  const int64_t top = (big_h - small_h) / 2;
  // Official encdec.py: c = (H_big − H_small) // 2 is used for both axes.
  const int64_t left = official ? top : (big_w - small_w) / 2;
  PM_CHECK(top >= 0 && left >= 0 && top + small_h <= big_h && left + small_w <= big_w,
           "FCN-8s crop: a {}x{} window at ({}, {}) does not fit in {}x{}",
           small_h,
           small_w,
           top,
           left,
           big_h,
           big_w);
  return {top, left};
}

Fcn8sImpl::Fcn8sImpl(const Fcn8sOptions& options) : options_(options) {
  const VGGOptions v = options_.vgg_options();
  vgg = register_module("vgg", VGG(v));
  int pool3_channels = 0, pool4_channels = 0, channels = v.in_channels, pools = 0;
  for (int c : v.config) {
    if (c != kVggPool) {
      channels = c;
      continue;
    }
    ++pools;
    if (pools == 3)
      pool3_channels = channels;
    if (pools == 4)
      pool4_channels = channels;
  }
  PM_CHECK(pools == 5, "ORANDNet: the FCN-8s needs 5 pools, the VGG config has {}", pools);
  score_fr = register_module("score_fr", score_layer(v.fc_channels));
  score_pool4 = register_module("score_pool4", score_layer(pool4_channels));
  score_pool3 = register_module("score_pool3", score_layer(pool3_channels));
  upscore2 = register_module("upscore2", bilinear_upsampler(4, 2));
  upscore_pool4 = register_module("upscore_pool4", bilinear_upsampler(4, 2));
  upscore8 = register_module("upscore8", bilinear_upsampler(16, 8));
}

torch::Tensor Fcn8sImpl::crop_to(const torch::Tensor& big, int64_t h, int64_t w) const {
  const auto [top, left] = crop_offsets(big.size(2), big.size(3), h, w, options_.official_crop);
  return big.slice(2, top, top + h).slice(3, left, left + w);
}

torch::Tensor Fcn8sImpl::forward(const torch::Tensor& x) {
  PM_CHECK(x.dim() == 4 && x.size(1) == 1,
           "ORANDNet: expected input (N, 1, H, W), got {}",
           c10::str(x.sizes()));
  torch::Tensor h = x, pool3, pool4;
  int pools = 0;
  for (auto& layer : *vgg->features) {
    h = layer.forward(h);
    if (layer.ptr()->as<torch::nn::MaxPool2d>() != nullptr) {
      ++pools;
      if (pools == 3)
        pool3 = h;
      if (pools == 4)
        pool4 = h;
    }
  }
  namespace F = torch::nn::functional;
  const auto drop = F::Dropout2dFuncOptions().p(options_.dropout).training(is_training());
  h = F::dropout2d(torch::relu(vgg->fc6(h)), drop);
  h = F::dropout2d(torch::relu(vgg->fc7(h)), drop);
  // FCN-8s fusion (Long et al. 2015, Fig. 3): up2(score_fr) + score_pool4, up2 + score_pool3, up8.
  torch::Tensor fused = upscore2(score_fr(h));
  fused = fused + crop_to(score_pool4(pool4), fused.size(2), fused.size(3));
  fused = upscore_pool4(fused);
  fused = fused + crop_to(score_pool3(pool3), fused.size(2), fused.size(3));
  return crop_to(upscore8(fused), x.size(2), x.size(3));
}

LoadReport load_vgg16_imagenet(Fcn8s& net, const Checkpoint& checkpoint, const std::string& name) {
  Checkpoint filtered;
  for (const auto& [key, array] : checkpoint.tensors) {
    if (key.rfind("features.0.", 0) != 0)  // conv1_1 has 3 input channels there, 1 here
      filtered.tensors.emplace_back(key, array);
  }
  LoadRules rules = torchvision_vgg_rules();
  rules.allow_missing_prefixes.push_back("features.0.");
  return load_state_dict(*net->vgg, filtered, rules, name, /*strict=*/true);
}

}  // namespace pm::nn
