// SPDX-License-Identifier: MIT
#include "pseudomask/nn/backbones/res2net.h"

#include <torch/nn/functional/pooling.h>
#include <torch/nn/modules/activation.h>

#include "pseudomask/core/common/error.h"

#include "conv.h"

namespace pm::nn {
void Res2NetOptions::validate() const {
  PM_CHECK(layers.size() == 4, "Res2NetOptions::layers: expected 4 stages, got {}", layers.size());
  for (int n : layers)
    PM_CHECK(n >= 1, "Res2NetOptions::layers: every stage needs at least one block, got {}", n);
  PM_CHECK(base_width >= 1, "Res2NetOptions::base_width {}: must be positive", base_width);
  PM_CHECK(scale >= 2, "Res2NetOptions::scale {}: must be at least 2", scale);
  PM_CHECK(output_stride == 32 || output_stride == 16 || output_stride == 8,
           "Res2NetOptions::output_stride {}: must be 8, 16 or 32",
           output_stride);
  PM_CHECK(num_classes >= 0, "Res2NetOptions::num_classes {}: must be >= 0", num_classes);
}

Bottle2neckImpl::Bottle2neckImpl(int inplanes,
                                 int planes,
                                 int stride,
                                 int dilation,
                                 bool first_of_stage,
                                 bool with_downsample,
                                 const Res2NetOptions& o)
    : width_(planes * o.base_width / 64) {
  conv1 = register_module("conv1", detail::same_conv(inplanes, width_ * o.scale, 1));
  bn1 = register_module("bn1", torch::nn::BatchNorm2d(width_ * o.scale));
  if (first_of_stage)
    pool = register_module(
        "pool", torch::nn::AvgPool2d(torch::nn::AvgPool2dOptions(3).stride(stride).padding(1)));
  convs = register_module("convs", torch::nn::ModuleList());
  bns = register_module("bns", torch::nn::ModuleList());
  for (int i = 0; i < o.scale - 1; ++i) {
    convs->push_back(detail::same_conv(width_, width_, 3, stride, dilation));
    bns->push_back(torch::nn::BatchNorm2d(width_));
  }
  conv3 = register_module("conv3", detail::same_conv(width_ * o.scale, planes * 4, 1));
  bn3 = register_module("bn3", torch::nn::BatchNorm2d(planes * 4));
  if (with_downsample) {
    downsample = register_module(
        "downsample",
        torch::nn::Sequential(torch::nn::AvgPool2d(torch::nn::AvgPool2dOptions(stride)
                                                       .stride(stride)
                                                       .ceil_mode(true)
                                                       .count_include_pad(false)),
                              detail::same_conv(inplanes, planes * 4, 1),
                              torch::nn::BatchNorm2d(planes * 4)));
  }
}

torch::Tensor Bottle2neckImpl::forward(const torch::Tensor& x) {
  const torch::Tensor out = torch::relu(bn1(conv1(x)));
  const std::vector<torch::Tensor> splits = out.split(width_, 1);
  const auto nums = static_cast<int64_t>(convs->size());
  std::vector<torch::Tensor> parts;
  torch::Tensor sp;
  for (int64_t i = 0; i < nums; ++i) {
    sp = (i == 0 || pool) ? splits[i] : sp + splits[i];
    sp = convs[i]->as<torch::nn::Conv2d>()->forward(sp);
    sp = torch::relu(bns[i]->as<torch::nn::BatchNorm2d>()->forward(sp));
    parts.push_back(sp);
  }
  parts.push_back(pool ? pool(splits[nums]) : splits[nums]);
  const torch::Tensor branch = bn3(conv3(torch::cat(parts, 1)));
  return torch::relu(branch + (downsample ? downsample->forward(x) : x));
}

Res2NetImpl::Res2NetImpl(const Res2NetOptions& options) : options_(options) {
  options_.validate();
  conv1 = register_module("conv1",
                          torch::nn::Sequential(detail::same_conv(3, 32, 3, 2),
                                                torch::nn::BatchNorm2d(32),
                                                torch::nn::ReLU(),
                                                detail::same_conv(32, 32, 3),
                                                torch::nn::BatchNorm2d(32),
                                                torch::nn::ReLU(),
                                                detail::same_conv(32, 64, 3)));
  bn1 = register_module("bn1", torch::nn::BatchNorm2d(64));
  const bool unstride3 = options_.output_stride == 8;
  const bool unstride4 = options_.output_stride <= 16;
  layer1 = register_module("layer1", make_layer(64, options_.layers[0], 1, false));
  layer2 = register_module("layer2", make_layer(128, options_.layers[1], 2, false));
  layer3 = register_module(
      "layer3",
      make_layer(256, options_.layers[2], unstride3 ? 1 : 2, unstride3 && options_.dilate));
  layer4 = register_module(
      "layer4",
      make_layer(512, options_.layers[3], unstride4 ? 1 : 2, unstride4 && options_.dilate));
  if (options_.num_classes > 0)
    fc = register_module("fc", torch::nn::Linear(options_.out_channels(), options_.num_classes));
  set_fixed_batch_norm(options_.frozen_bn);
  train(is_training());  // puts frozen BatchNorm in eval mode from the start
}

torch::nn::Sequential Res2NetImpl::make_layer(int planes, int blocks, int stride, bool dilate) {
  const int previous_dilation = dilation_;
  if (dilate)
    dilation_ *= 2;
  const bool with_downsample = stride != 1 || inplanes_ != planes * 4;
  torch::nn::Sequential layer;
  layer->push_back(
      Bottle2neck(inplanes_, planes, stride, previous_dilation, true, with_downsample, options_));
  inplanes_ = planes * 4;
  for (int i = 1; i < blocks; ++i)
    layer->push_back(Bottle2neck(inplanes_, planes, 1, dilation_, false, false, options_));
  return layer;
}

std::vector<torch::Tensor> Res2NetImpl::forward_stages(const torch::Tensor& x) {
  namespace F = torch::nn::functional;
  torch::Tensor h = torch::relu(bn1(conv1->forward(x)));
  h = F::max_pool2d(h, F::MaxPool2dFuncOptions(3).stride(2).padding(1));
  std::vector<torch::Tensor> outs;
  for (auto* layer : {&layer1, &layer2, &layer3, &layer4}) {
    h = (*layer)->forward(h);
    outs.push_back(h);
  }
  return outs;
}

torch::Tensor Res2NetImpl::forward_features(const torch::Tensor& x) {
  return forward_stages(x).back();
}

torch::Tensor Res2NetImpl::forward(const torch::Tensor& x) {
  const torch::Tensor f = forward_features(x);
  return fc ? fc(f.mean({2, 3})) : f;
}

std::vector<FreezeStage> Res2NetImpl::freeze_stages() {
  return {{{conv1.ptr(), bn1.ptr()}, {}},
          {{layer1.ptr()}, {}},
          {{layer2.ptr()}, {}},
          {{layer3.ptr()}, {}},
          {{layer4.ptr()}, {}}};
}

}  // namespace pm::nn
