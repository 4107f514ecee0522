// SPDX-License-Identifier: MIT
#include "pseudomask/nn/heads/cam_head.h"

#include <torch/nn/init.h>

namespace pm::nn {

CamHeadImpl::CamHeadImpl(int in_channels, int num_classes) {
  classifier = register_module(
      "classifier",
      torch::nn::Conv2d(torch::nn::Conv2dOptions(in_channels, num_classes, 1).bias(false)));
  torch::nn::init::xavier_uniform_(classifier->weight);
}

torch::Tensor CamHeadImpl::forward(const torch::Tensor& features) {
  // IRN resnet50_cam: GAP, then the 1x1 conv, flattened to (N, K).
  return classifier(features.mean({2, 3}, /*keepdim=*/true)).flatten(1);
}

torch::Tensor CamHeadImpl::class_maps(const torch::Tensor& features) {
  return classifier(features);
}

ClassTokenHeadImpl::ClassTokenHeadImpl(int in_channels, int num_classes) {
  classifier = register_module("classifier", torch::nn::Linear(in_channels, num_classes));
}

torch::Tensor ClassTokenHeadImpl::forward(const torch::Tensor& tokens) {
  return classifier(tokens.select(1, 0));
}

}  // namespace pm::nn
