// SPDX-License-Identifier: MIT
#include "pseudomask/nn/irn/irn_net.h"

#include <torch/nn/functional/pooling.h>
#include <torch/nn/modules/activation.h>
#include <torch/nn/modules/normalization.h>
#include <torch/nn/modules/upsampling.h>
#include <torch/torch.h>

#include "pseudomask/core/common/error.h"
#include "pseudomask/core/common/ndarray.h"

namespace pm::nn {
namespace {

namespace F = torch::nn::functional;

/// IRN's branch widths on ResNet-50 (fc_edge1..5 and fc_dp3..7).
constexpr int kEdgeWidth = 32;
constexpr int kDpWidth = 256;
/// The tiny backbone's stages are 1/8 as wide as ResNet-50's (width 8 instead of 64); its
/// branches are narrowed by a quarter only, to keep IRN's GroupNorm groups (4 on the edge levels,
/// 8 and 16 on the displacement layers) at 2+ channels each.
constexpr int kTinyEdgeWidth = 8;
constexpr int kTinyDpWidth = 64;
/// IRN's GroupNorm groups: every edge level; fc_dp1; the other displacement layers.
constexpr int kEdgeGroups = 4;
constexpr int kDp1Groups = 8;
constexpr int kDpGroups = 16;

bool is_tiny(const std::string& backbone) {
  return backbone == "resnet-tiny";
}

torch::nn::Conv2d conv1x1(int in, int out, bool bias) {
  return torch::nn::Conv2d(torch::nn::Conv2dOptions(in, out, 1).bias(bias));
}

torch::nn::GroupNorm group_norm(int groups, int channels) {
  return torch::nn::GroupNorm(torch::nn::GroupNormOptions(groups, channels));
}

torch::nn::Upsample upsample(double factor) {
  return torch::nn::Upsample(torch::nn::UpsampleOptions()
                                 .scale_factor(std::vector<double>{factor, factor})
                                 .mode(torch::kBilinear)
                                 .align_corners(false));
}

/// IRN's 1x1 conv (no bias) → GroupNorm → [bilinear upsampling ×factor] → ReLU.
torch::nn::Sequential conv_gn_relu(int in, int out, int groups, double factor = 1.0) {
  torch::nn::Sequential s(conv1x1(in, out, false), group_norm(groups, out));
  if (factor != 1.0)
    s->push_back(upsample(factor));
  s->push_back(torch::nn::ReLU());
  return s;
}

/// The top-left (height, width) of `t` (N, C, h, w) as those of `like`: IRN crops upsampled maps.
torch::Tensor crop_like(const torch::Tensor& t, const torch::Tensor& like) {
  return t.slice(2, 0, like.size(2)).slice(3, 0, like.size(3));
}

/// The parameters of `modules`, in order.
std::vector<torch::Tensor> parameters_of(std::initializer_list<const torch::nn::Module*> modules) {
  std::vector<torch::Tensor> params;
  for (const torch::nn::Module* m : modules) {
    for (const auto& p : m->parameters())
      params.push_back(p);
  }
  return params;
}

}  // namespace

void IrnNetOptions::validate() const {
  PM_CHECK(backbone == "resnet50" || is_tiny(backbone),
           "IrnNetOptions::backbone '{}': expected resnet50 or resnet-tiny",
           backbone);
  PM_CHECK(edge_width >= 0 && edge_width % kEdgeGroups == 0,
           "IrnNetOptions::edge_width {}: must be 0 (default) or a positive multiple of {}",
           edge_width,
           kEdgeGroups);
  PM_CHECK(dp_width >= 0 && dp_width % 32 == 0,
           "IrnNetOptions::dp_width {}: must be 0 (default) or a positive multiple of 32",
           dp_width);
}

ResNetOptions IrnNetOptions::resnet_options() const {
  ResNetOptions o = is_tiny(backbone) ? ResNetOptions::tiny() : ResNetOptions::resnet50();
  o.output_stride = 16;  // IRN's strides (2, 2, 2, 1): layer4 keeps stride 1, no dilation
  o.dilate = false;
  o.frozen_bn = true;
  o.num_classes = 0;
  return o;
}

int IrnNetOptions::resolved_edge_width() const {
  if (edge_width > 0)
    return edge_width;
  return is_tiny(backbone) ? kTinyEdgeWidth : kEdgeWidth;
}

int IrnNetOptions::resolved_dp_width() const {
  if (dp_width > 0)
    return dp_width;
  return is_tiny(backbone) ? kTinyDpWidth : kDpWidth;
}

MeanShiftImpl::MeanShiftImpl(int channels, double momentum) : momentum_(momentum) {
  running_mean = register_buffer("running_mean", torch::zeros({channels}));
  running_var = register_buffer("running_var", torch::ones({channels}));
  num_batches_tracked = register_buffer("num_batches_tracked", torch::zeros({}, torch::kLong));
}

torch::Tensor MeanShiftImpl::forward(const torch::Tensor& x) {
  if (is_training()) {
    // Only the running statistics change (BatchNorm's update, unbiased variance); the output is
    // the input itself.
    torch::NoGradGuard no_grad;
    torch::batch_norm(x.detach(),
                      {},
                      {},
                      running_mean,
                      running_var,
                      /*training=*/true,
                      momentum_,
                      /*eps=*/1e-5,
                      /*cudnn_enabled=*/false);
    num_batches_tracked.add_(1);
    return x;
  }
  return x - running_mean.view({1, -1, 1, 1});
}

IrnNetImpl::IrnNetImpl(const IrnNetOptions& options) : options_(options) {
  options_.validate();
  const ResNetOptions ro = options_.resnet_options();
  backbone = register_module("backbone", ResNet(ro));
  for (auto& p : backbone->parameters())
    p.set_requires_grad(false);

  const int w = ro.width;  // stem channels; the stages have 4w, 8w, 16w, 32w
  const int e = options_.resolved_edge_width();
  fc_edge1 = register_module("fc_edge1", conv_gn_relu(w, e, kEdgeGroups));
  fc_edge2 = register_module("fc_edge2", conv_gn_relu(4 * w, e, kEdgeGroups));
  fc_edge3 = register_module("fc_edge3", conv_gn_relu(8 * w, e, kEdgeGroups, 2));
  fc_edge4 = register_module("fc_edge4", conv_gn_relu(16 * w, e, kEdgeGroups, 4));
  fc_edge5 = register_module("fc_edge5", conv_gn_relu(32 * w, e, kEdgeGroups, 4));
  fc_edge6 = register_module("fc_edge6", conv1x1(5 * e, 1, true));

  const int d = options_.resolved_dp_width();
  const int d1 = d / 4, d2 = d / 2;
  fc_dp1 = register_module("fc_dp1", conv_gn_relu(w, d1, kDp1Groups));
  fc_dp2 = register_module("fc_dp2", conv_gn_relu(4 * w, d2, kDpGroups));
  fc_dp3 = register_module("fc_dp3", conv_gn_relu(8 * w, d, kDpGroups));
  fc_dp4 = register_module("fc_dp4", conv_gn_relu(16 * w, d, kDpGroups, 2));
  fc_dp5 = register_module("fc_dp5", conv_gn_relu(32 * w, d, kDpGroups, 2));
  fc_dp6 = register_module("fc_dp6", conv_gn_relu(3 * d, d, kDpGroups, 2));
  torch::nn::Sequential dp7 = conv_gn_relu(d1 + d2 + d, d, kDpGroups);
  dp7->push_back(conv1x1(d, 2, false));
  dp7->push_back(MeanShift(2));
  fc_dp7 = register_module("fc_dp7", dp7);
  train(is_training());
}

IrnOutputs IrnNetImpl::forward(const torch::Tensor& images) {
  PM_CHECK(images.dim() == 4 && images.size(1) == 3,
           "IrnNet: expected images (N, 3, H, W), got {}",
           shape_string(images.sizes().vec()));
  torch::Tensor x1, x2, x3, x4, x5;
  {
    // IRN trains only the branches: every backbone stage's output is detached.
    torch::NoGradGuard no_grad;
    x1 = torch::relu(backbone->bn1(backbone->conv1(images)));
    x1 = F::max_pool2d(x1, F::MaxPool2dFuncOptions(3).stride(2).padding(1));
    x2 = backbone->layer1->forward(x1);
    x3 = backbone->layer2->forward(x2);
    x4 = backbone->layer3->forward(x3);
    x5 = backbone->layer4->forward(x4);
  }

  const torch::Tensor e1 = fc_edge1->forward(x1);
  const torch::Tensor e2 = fc_edge2->forward(x2);
  const torch::Tensor e3 = crop_like(fc_edge3->forward(x3), e2);
  const torch::Tensor e4 = crop_like(fc_edge4->forward(x4), e2);
  const torch::Tensor e5 = crop_like(fc_edge5->forward(x5), e2);
  IrnOutputs out;
  out.edge = fc_edge6->forward(torch::cat({e1, e2, e3, e4, e5}, 1));

  const torch::Tensor d1 = fc_dp1->forward(x1);
  const torch::Tensor d2 = fc_dp2->forward(x2);
  const torch::Tensor d3 = fc_dp3->forward(x3);
  const torch::Tensor d4 = crop_like(fc_dp4->forward(x4), d3);
  const torch::Tensor d5 = crop_like(fc_dp5->forward(x5), d3);
  const torch::Tensor up3 = crop_like(fc_dp6->forward(torch::cat({d3, d4, d5}, 1)), d2);
  out.displacement = fc_dp7->forward(torch::cat({d1, d2, up3}, 1));
  return out;
}

std::vector<torch::Tensor> IrnNetImpl::edge_parameters() {
  return parameters_of({fc_edge1.get(),
                        fc_edge2.get(),
                        fc_edge3.get(),
                        fc_edge4.get(),
                        fc_edge5.get(),
                        fc_edge6.get()});
}

std::vector<torch::Tensor> IrnNetImpl::displacement_parameters() {
  return parameters_of({fc_dp1.get(),
                        fc_dp2.get(),
                        fc_dp3.get(),
                        fc_dp4.get(),
                        fc_dp5.get(),
                        fc_dp6.get(),
                        fc_dp7.get()});
}

void IrnNetImpl::train(bool on) {
  torch::nn::Module::train(on);
  backbone->eval();
}

}  // namespace pm::nn
