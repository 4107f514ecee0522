// SPDX-License-Identifier: MIT
#include "pseudomask/nn/backbones/vgg.h"

#include <torch/nn/functional/dropout.h>
#include <torch/nn/init.h>
#include <torch/nn/modules/activation.h>
#include <torch/nn/modules/pooling.h>

#include "pseudomask/core/common/error.h"

namespace pm::nn {

VGGOptions VGGOptions::tiny() {
  VGGOptions o;
  for (int& c : o.config)
    c /= 16;
  o.fc_channels = 32;
  return o;
}

int VGGOptions::feature_channels() const {
  int channels = in_channels;
  for (int c : config) {
    if (c != kVggPool)
      channels = c;
  }
  return channels;
}

void VGGOptions::validate() const {
  PM_CHECK(!config.empty(), "VGG: empty layer configuration");
  for (int c : config)
    PM_CHECK(c >= 0, "VGG: negative conv width {}", c);
  PM_CHECK(in_channels >= 1, "VGG: in_channels must be positive, got {}", in_channels);
  PM_CHECK(fc_channels >= 0, "VGG: fc_channels must be >= 0, got {}", fc_channels);
  PM_CHECK(dropout >= 0 && dropout < 1, "VGG: dropout must be in [0, 1), got {}", dropout);
}

VGGImpl::VGGImpl(const VGGOptions& options) : options_(options) {
  options_.validate();
  torch::nn::Sequential seq;
  int channels = options_.in_channels;
  bool first = true;
  for (int c : options_.config) {
    if (c == kVggPool) {
      seq->push_back(torch::nn::MaxPool2d(
          torch::nn::MaxPool2dOptions(2).stride(2).ceil_mode(options_.ceil_mode)));
      continue;
    }
    const int padding = first ? options_.first_padding : 1;
    seq->push_back(torch::nn::Conv2d(torch::nn::Conv2dOptions(channels, c, 3).padding(padding)));
    seq->push_back(torch::nn::ReLU(torch::nn::ReLUOptions(/*inplace=*/true)));
    channels = c;
    first = false;
  }
  features = register_module("features", seq);
  if (options_.fc_channels > 0) {
    const int fc = options_.fc_channels;
    fc6 = register_module(
        "fc6", torch::nn::Conv2d(torch::nn::Conv2dOptions(channels, fc, options_.fc6_kernel)));
    fc7 = register_module("fc7", torch::nn::Conv2d(torch::nn::Conv2dOptions(fc, fc, 1)));
  }
  init_like_torchvision();
}

void VGGImpl::init_like_torchvision() {
  // torchvision's VGG._initialize_weights: He-normal (fan-out, ReLU) weights and zero biases.
  // torch's default conv init shrinks the signal about 3x per layer, so after VGG16's 15
  // convolutions a randomly initialised network's output no longer depends on its input.
  torch::NoGradGuard no_grad;
  for (auto& m : modules(/*include_self=*/false)) {
    if (auto* conv = m->as<torch::nn::Conv2d>()) {
      torch::nn::init::kaiming_normal_(conv->weight, 0.0, torch::kFanOut, torch::kReLU);
      conv->bias.zero_();
    }
  }
}

torch::Tensor VGGImpl::features_forward(const torch::Tensor& x) {
  return features->forward(x);
}

int VGGImpl::out_channels() const {
  return options_.fc_channels > 0 ? options_.fc_channels : options_.feature_channels();
}

int VGGImpl::output_stride() const {
  int stride = 1;
  for (int c : options_.config) {
    if (c == kVggPool)
      stride *= 2;
  }
  return stride;
}

std::vector<FreezeStage> VGGImpl::freeze_stages() {
  std::vector<FreezeStage> stages(1);  // the empty stem
  FreezeStage block;
  for (const auto& m : features->children()) {
    block.modules.push_back(m);
    if (m->as<torch::nn::MaxPool2d>() != nullptr) {
      stages.push_back(block);
      block = FreezeStage();
    }
  }
  if (!block.modules.empty())
    stages.push_back(block);  // convs after the last pool
  return stages;
}

torch::Tensor VGGImpl::forward(const torch::Tensor& x) {
  torch::Tensor h = features_forward(x);
  if (!fc6)
    return h;
  namespace F = torch::nn::functional;
  const auto drop = F::DropoutFuncOptions().p(options_.dropout).training(is_training());
  h = F::dropout(torch::relu(fc6(h)), drop);
  return F::dropout(torch::relu(fc7(h)), drop);
}

}  // namespace pm::nn
