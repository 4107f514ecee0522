// SPDX-License-Identifier: MIT
#include "pseudomask/nn/seg/seg_model.h"

#include <torch/nn/functional/pooling.h>
#include <torch/nn/functional/upsampling.h>
#include <torch/nn/modules/activation.h>
#include <torch/nn/modules/batchnorm.h>
#include <torch/nn/modules/dropout.h>
#include <torch/nn/modules/pooling.h>

#include <algorithm>

#include "pseudomask/core/common/error.h"
#include "pseudomask/nn/checkpoint/load.h"

namespace pm::nn {
namespace {

namespace F = torch::nn::functional;

/// DeepLab-v2's ASPP-L rates (Chen et al. 2017, Sec. 3.3).
constexpr int kAsppRates[4] = {6, 12, 18, 24};
/// DeepLab-LargeFOV's fc6 dilation at output stride 8 (Chen et al. 2015, Sec. 3.1).
constexpr int kLargeFovRate = 12;
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

ResNetOptions backbone_options(const SegModelOptions& o) {
  ResNetOptions r = o.backbone() == "resnet101" ? ResNetOptions::resnet101()
                    : o.backbone() == "tiny"    ? ResNetOptions::tiny()
                                                : ResNetOptions::resnet50();
  r.output_stride = 8;  // strides (1, 2, 1, 1), dilations (1, 1, 2, 4)
  r.dilate = true;
  r.frozen_bn = o.frozen_bn;
  return r;
}

/// Head widths: the published ones for ResNet-50/101, scaled down for the tiny backbone.
struct HeadWidths {
  int largefov = 1024;  ///< DeepLab-LargeFOV fc6/fc7
  int psp = 512;        ///< PSPHead channels (and each pyramid branch's, as in mmseg)
  int aux = 256;        ///< FCNHead channels
};

HeadWidths head_widths(const SegModelOptions& o) {
  if (o.backbone() != "tiny")
    return {};
  return {32, 32, 16};
}

}  // namespace

std::vector<std::string> SegModelOptions::archs() {
  std::vector<std::string> out;
  for (const char* head : {"deeplab-largefov", "deeplabv2", "pspnet"})
    for (const char* bb : {"resnet50", "resnet101", "tiny"})
      out.push_back(std::string(head) + "-" + bb);
  return out;
}

void SegModelOptions::validate() const {
  const auto all = archs();
  PM_CHECK(std::find(all.begin(), all.end(), arch) != all.end(),
           "SegModelOptions::arch '{}': unknown segmentation model (known: "
           "deeplab-largefov|deeplabv2|pspnet "
           "-resnet50|-resnet101|-tiny)",
           arch);
  PM_CHECK(num_classes >= 2 && num_classes <= 255,
           "SegModelOptions::num_classes {}: must be in 2..255 (background included)",
           num_classes);
}

std::string SegModelOptions::head() const {
  return arch.substr(0, arch.rfind('-'));
}

std::string SegModelOptions::backbone() const {
  return arch.substr(arch.rfind('-') + 1);
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

SegModelImpl::SegModelImpl(const SegModelOptions& options) : options_(options) {
  options_.validate();
  const ResNetOptions ro = backbone_options(options_);
  backbone = register_module("backbone", ResNet(ro));
  const int in = ro.out_channels(), classes = options_.num_classes;
  const HeadWidths w = head_widths(options_);
  const std::string head = options_.head();
  if (head == "deeplab-largefov") {
    // DeepLab-LargeFOV: fc6 (3x3, dilation 12) → fc7 (1x1) → fc8 classifier, with dropout.
    decode = register_module("decode",
                             torch::nn::Sequential(conv(in, w.largefov, 3, kLargeFovRate),
                                                   torch::nn::ReLU(true),
                                                   torch::nn::Dropout2d(0.5),
                                                   conv(w.largefov, w.largefov, 1),
                                                   torch::nn::ReLU(true),
                                                   torch::nn::Dropout2d(0.5),
                                                   conv(w.largefov, classes, 1)));
  } else if (head == "deeplabv2") {
    aspp = register_module("aspp", torch::nn::ModuleList());
    for (int rate : kAsppRates)
      aspp->push_back(conv(in, classes, 3, rate));
  } else {
    const int branch = w.psp;  // mmseg: every PPM branch has the head's channels
    ppm = register_module("ppm", PyramidPooling(in, branch));
    decode = register_module("decode", fcn_head(in + 4 * branch, w.psp, classes));
    const int stage3 = ro.out_channels() / 2;
    aux = register_module("aux", fcn_head(stage3, w.aux, classes));
  }
}

SegOutput SegModelImpl::forward(const torch::Tensor& x) {
  SegOutput out;
  if (aux) {
    const std::vector<torch::Tensor> stages = backbone->stage_outputs(x);
    out.logits = decode->forward(ppm->forward(stages[3]));
    if (is_training())
      out.aux = aux->forward(stages[2]);
    return out;
  }
  const torch::Tensor f = backbone->features(x);
  if (aspp) {
    // DeepLab-v2 ASPP: the class scores of the four rates are summed.
    for (const auto& branch : *aspp) {
      const torch::Tensor s = branch->as<torch::nn::Conv2d>()->forward(f);
      out.logits = out.logits.defined() ? out.logits + s : s;
    }
    return out;
  }
  out.logits = decode->forward(f);
  return out;
}

torch::Tensor SegModelImpl::predict_logits(const torch::Tensor& x) {
  const torch::Tensor logits = forward(x).logits;
  return F::interpolate(logits,
                        F::InterpolateFuncOptions()
                            .size(std::vector<int64_t>{x.size(2), x.size(3)})
                            .mode(torch::kBilinear)
                            .align_corners(false));
}

void SegModelImpl::train(bool on) {
  torch::nn::Module::train(on);  // the backbone keeps frozen BatchNorm in eval mode itself
}

void SegModelImpl::load_pretrained_backbone(const Checkpoint& ckpt, const std::string& name) {
  LoadRules rules = torchvision_resnet_rules();
  if (ckpt.find("backbone.conv1.weight") != nullptr) {
    // A `pseudomask train-cls` ResNet: its backbone.* is a torchvision ResNet; the classifier
    // head trained on image-level labels is left out (WSSS's usual ImageNet initialisation,
    // replaced by the stage-one classifier of the same data).
    rules.renames.push_back({"backbone.", "", false});
    rules.ignore_prefixes.push_back("classifier.");
  }
  load_state_dict(*backbone, ckpt, rules, name);
}

std::vector<std::pair<std::string, torch::Tensor>> SegModelImpl::backbone_parameters() {
  std::vector<std::pair<std::string, torch::Tensor>> out;
  for (const auto& p : named_parameters()) {
    if (p.key().rfind("backbone.", 0) == 0 && p.value().requires_grad())
      out.emplace_back(p.key(), p.value());
  }
  return out;
}

std::vector<std::pair<std::string, torch::Tensor>> SegModelImpl::head_parameters() {
  std::vector<std::pair<std::string, torch::Tensor>> out;
  for (const auto& p : named_parameters()) {
    if (p.key().rfind("backbone.", 0) != 0 && p.value().requires_grad())
      out.emplace_back(p.key(), p.value());
  }
  return out;
}

}  // namespace pm::nn
