// SPDX-License-Identifier: MIT
#include "pseudomask/nn/backbones/resnet.h"

#include <torch/nn/functional/pooling.h>

#include "pseudomask/core/common/error.h"

#include "conv.h"

namespace pm::nn {
void ResNetOptions::validate() const {
  PM_CHECK(layers.size() == 4, "ResNet: expected 4 stages, got {}", layers.size());
  for (int n : layers)
    PM_CHECK(n >= 1, "ResNet: every stage needs at least one block, got {}", n);
  PM_CHECK(width >= 1, "ResNet: width must be positive, got {}", width);
  PM_CHECK(output_stride == 32 || output_stride == 16 || output_stride == 8,
           "ResNet: output stride must be 8, 16 or 32, got {}",
           output_stride);
  PM_CHECK(num_classes >= 0, "ResNet: num_classes must be >= 0, got {}", num_classes);
}

BottleneckImpl::BottleneckImpl(
    int inplanes, int planes, int stride, int dilation, bool with_downsample) {
  conv1 = register_module("conv1", detail::same_conv(inplanes, planes, 1));
  bn1 = register_module("bn1", torch::nn::BatchNorm2d(planes));
  conv2 = register_module("conv2", detail::same_conv(planes, planes, 3, stride, dilation));
  bn2 = register_module("bn2", torch::nn::BatchNorm2d(planes));
  conv3 = register_module("conv3", detail::same_conv(planes, planes * 4, 1));
  bn3 = register_module("bn3", torch::nn::BatchNorm2d(planes * 4));
  if (with_downsample) {
    downsample =
        register_module("downsample",
                        torch::nn::Sequential(detail::same_conv(inplanes, planes * 4, 1, stride),
                                              torch::nn::BatchNorm2d(planes * 4)));
  }
}

torch::Tensor BottleneckImpl::forward(const torch::Tensor& x) {
  const torch::Tensor identity = downsample ? downsample->forward(x) : x;
  torch::Tensor out = torch::relu(bn1(conv1(x)));
  out = torch::relu(bn2(conv2(out)));
  out = bn3(conv3(out));
  return torch::relu(out + identity);
}

ResNetImpl::ResNetImpl(const ResNetOptions& options) : options_(options) {
  options_.validate();
  const int w = options_.width;
  // Which of layer3/layer4 lose their stride of 2 to reach the output stride.
  const bool unstride3 = options_.output_stride == 8;
  const bool unstride4 = options_.output_stride <= 16;
  inplanes_ = w;
  conv1 = register_module("conv1", detail::same_conv(3, w, 7, 2));
  bn1 = register_module("bn1", torch::nn::BatchNorm2d(w));
  layer1 = register_module("layer1", make_layer(w, options_.layers[0], 1, false));
  layer2 = register_module("layer2", make_layer(w * 2, options_.layers[1], 2, false));
  layer3 = register_module(
      "layer3",
      make_layer(w * 4, options_.layers[2], unstride3 ? 1 : 2, unstride3 && options_.dilate));
  layer4 = register_module(
      "layer4",
      make_layer(w * 8, options_.layers[3], unstride4 ? 1 : 2, unstride4 && options_.dilate));
  if (options_.num_classes > 0)
    fc = register_module("fc", torch::nn::Linear(options_.out_channels(), options_.num_classes));
  set_fixed_batch_norm(options_.frozen_bn);
  train(is_training());  // puts frozen BatchNorm in eval mode from the start
}

// torchvision's _make_layer. With `dilate` the stride of 2 the stage would have had becomes a
// dilation of 2 (cumulative over stages); the first block keeps the previous dilation.
torch::nn::Sequential ResNetImpl::make_layer(int planes, int blocks, int stride, bool dilate) {
  const int previous_dilation = dilation_;
  if (dilate)
    dilation_ *= 2;
  const bool with_downsample = stride != 1 || inplanes_ != planes * 4;
  torch::nn::Sequential layer;
  layer->push_back(Bottleneck(inplanes_, planes, stride, previous_dilation, with_downsample));
  inplanes_ = planes * 4;
  for (int i = 1; i < blocks; ++i)
    layer->push_back(Bottleneck(inplanes_, planes, 1, dilation_, false));
  return layer;
}

std::vector<torch::Tensor> ResNetImpl::stage_outputs(const torch::Tensor& x) {
  torch::Tensor h = torch::relu(bn1(conv1(x)));
  h = torch::nn::functional::max_pool2d(
      h, torch::nn::functional::MaxPool2dFuncOptions(3).stride(2).padding(1));
  std::vector<torch::Tensor> outs;
  for (auto* layer : {&layer1, &layer2, &layer3, &layer4}) {
    h = (*layer)->forward(h);
    outs.push_back(h);
  }
  return outs;
}

std::vector<int> ResNetImpl::stage_channels() const {
  const int w = options_.width;
  return {4 * w, 8 * w, 16 * w, 32 * w};
}

torch::Tensor ResNetImpl::features(const torch::Tensor& x) {
  return stage_outputs(x).back();
}

torch::Tensor ResNetImpl::forward(const torch::Tensor& x) {
  torch::Tensor f = features(x);
  if (!fc)
    return f;
  return fc(f.mean({2, 3}));
}

std::vector<FreezeStage> ResNetImpl::freeze_stages() {
  return {{{conv1.ptr(), bn1.ptr()}, {}},
          {{layer1.ptr()}, {}},
          {{layer2.ptr()}, {}},
          {{layer3.ptr()}, {}},
          {{layer4.ptr()}, {}}};
}

}  // namespace pm::nn
