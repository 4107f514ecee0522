// SPDX-License-Identifier: MIT
#include "pseudomask/nn/heads/seg_heads.h"

#include <torch/nn/functional/pooling.h>
#include <torch/nn/functional/upsampling.h>
#include <torch/nn/modules/activation.h>
#include <torch/nn/modules/batchnorm.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/dropout.h>

namespace pm::nn {
namespace {

namespace F = torch::nn::functional;

/// DeepLab-v2's ASPP-L rates (Chen et al. 2017, Sec. 3.3).
constexpr int kAsppRates[4] = {6, 12, 18, 24};
/// DeepLab-LargeFOV's fc6 dilation at output stride 8 (Chen et al. 2015, Sec. 3.1).
constexpr int kLargeFovRate = 12;
/// DeepLab-LargeFOV's dropout after fc6 and fc7.
constexpr double kLargeFovDropout = 0.5;
/// mmsegmentation's PSPHead / FCNHead dropout.
constexpr double kHeadDropout = 0.1;

torch::nn::Conv2d conv(int in, int out, int k, int dilation = 1, bool bias = true) {
  return torch::nn::Conv2d(
      torch::nn::Conv2dOptions(in, out, k).padding(k / 2 * dilation).dilation(dilation).bias(bias));
}

/// conv (no bias) + BN + ReLU, mmcv's ConvModule.
torch::nn::Sequential conv_bn_relu(int in, int out, int k) {
  return torch::nn::Sequential(
      conv(in, out, k, 1, false), torch::nn::BatchNorm2d(out), torch::nn::ReLU(true));
}

/// mmseg's PSP bottleneck / FCNHead: 3x3 ConvModule → dropout 0.1 → 1x1 classifier (flat, since
/// a Sequential cannot hold a Sequential).
torch::nn::Sequential fcn_head(int in, int channels, int classes) {
  return torch::nn::Sequential(conv(in, channels, 3, 1, false),
                               torch::nn::BatchNorm2d(channels),
                               torch::nn::ReLU(true),
                               torch::nn::Dropout2d(kHeadDropout),
                               conv(channels, classes, 1));
}

}  // namespace

LargeFovHeadImpl::LargeFovHeadImpl(int in_channels, int width, int num_classes) {
  decode = register_module("decode",
                           torch::nn::Sequential(conv(in_channels, width, 3, kLargeFovRate),
                                                 torch::nn::ReLU(true),
                                                 torch::nn::Dropout2d(kLargeFovDropout),
                                                 conv(width, width, 1),
                                                 torch::nn::ReLU(true),
                                                 torch::nn::Dropout2d(kLargeFovDropout),
                                                 conv(width, num_classes, 1)));
}

SegOutput LargeFovHeadImpl::forward(const std::vector<torch::Tensor>& stages) {
  return {decode->forward(stages.back()), {}};
}

AsppHeadImpl::AsppHeadImpl(int in_channels, int num_classes) {
  aspp = register_module("aspp", torch::nn::ModuleList());
  for (int rate : kAsppRates)
    aspp->push_back(conv(in_channels, num_classes, 3, rate));
}

SegOutput AsppHeadImpl::forward(const std::vector<torch::Tensor>& stages) {
  // DeepLab-v2 ASPP: the class scores of the four rates are summed.
  const torch::Tensor& f = stages.back();
  SegOutput out;
  for (const auto& branch : *aspp) {
    const torch::Tensor s = branch->as<torch::nn::Conv2d>()->forward(f);
    out.logits = out.logits.defined() ? out.logits + s : s;
  }
  return out;
}

PyramidPoolingImpl::PyramidPoolingImpl(int in_channels, int branch_channels) {
  stages = register_module("stages", torch::nn::ModuleList());
  for (size_t i = 0; i < bins.size(); ++i)
    stages->push_back(conv_bn_relu(in_channels, branch_channels, 1));
}

torch::Tensor PyramidPoolingImpl::forward(const torch::Tensor& x) {
  std::vector<torch::Tensor> outs{x};
  const std::vector<int64_t> size{x.size(2), x.size(3)};
  for (size_t i = 0; i < bins.size(); ++i) {
    torch::Tensor p = F::adaptive_avg_pool2d(x, F::AdaptiveAvgPool2dFuncOptions(bins[i]));
    p = stages[i]->as<torch::nn::Sequential>()->forward(p);
    outs.push_back(F::interpolate(
        p, F::InterpolateFuncOptions().size(size).mode(torch::kBilinear).align_corners(false)));
  }
  return torch::cat(outs, 1);
}

PspHeadImpl::PspHeadImpl(
    int in_channels, int aux_in_channels, int width, int aux_width, int num_classes) {
  // mmseg: every pyramid branch has the head's channels.
  ppm = register_module("ppm", PyramidPooling(in_channels, width));
  const int pooled = in_channels + static_cast<int>(ppm->bins.size()) * width;
  decode = register_module("decode", fcn_head(pooled, width, num_classes));
  aux = register_module("aux", fcn_head(aux_in_channels, aux_width, num_classes));
}

SegOutput PspHeadImpl::forward(const std::vector<torch::Tensor>& stages) {
  SegOutput out;
  out.logits = decode->forward(ppm->forward(stages.back()));
  if (is_training())
    out.aux = aux->forward(stages[stages.size() - 2]);
  return out;
}

}  // namespace pm::nn
