// SPDX-License-Identifier: MIT
#include "pseudomask/nn/seg/seg_model.h"

#include <torch/nn/functional/upsampling.h>

#include <algorithm>
#include <array>
#include <utility>

#include "pseudomask/core/common/error.h"
#include "pseudomask/nn/backbones/res2net.h"
#include "pseudomask/nn/backbones/resnet.h"
#include "pseudomask/nn/backbones/resnet38d.h"
#include "pseudomask/nn/checkpoint/load.h"

namespace pm::nn {
namespace {

namespace F = torch::nn::functional;

/// The names of SegModelOptions::arch's two parts.
constexpr std::array<std::pair<const char*, SegHeadKind>, 3> kHeadNames{{
    {"deeplab-largefov", SegHeadKind::kLargeFov},
    {"deeplabv2", SegHeadKind::kDeepLabV2},
    {"pspnet", SegHeadKind::kPspNet},
}};
constexpr std::array<std::pair<const char*, SegBackboneKind>, 5> kBackboneNames{{
    {"resnet50", SegBackboneKind::kResNet50},
    {"resnet101", SegBackboneKind::kResNet101},
    {"tiny", SegBackboneKind::kResNetTiny},
    {"resnet38d", SegBackboneKind::kResNet38d},
    {"res2net101", SegBackboneKind::kRes2Net101},
}};

/// Head widths: the published ones for ResNet-50/101, scaled down for the tiny backbone.
struct HeadWidths {
  int largefov = 1024;  ///< DeepLab-LargeFOV fc6/fc7
  int psp = 512;        ///< PSPHead channels (and each pyramid branch's, as in mmseg)
  int aux = 256;        ///< FCNHead channels
};

HeadWidths head_widths(SegBackboneKind backbone) {
  if (backbone != SegBackboneKind::kResNetTiny)
    return {};
  return {32, 32, 16};
}

/// Whether `ckpt` is a `pseudomask train-cls` checkpoint (keys "backbone.*", "classifier.*").
bool is_classifier_checkpoint(const Checkpoint& ckpt) {
  return std::any_of(ckpt.tensors.begin(), ckpt.tensors.end(), [](const auto& t) {
    return t.first.rfind("backbone.", 0) == 0;
  });
}

}  // namespace

SegArch parse_seg_arch(const std::string& arch) {
  const size_t dash = arch.rfind('-');
  const std::string head = dash == std::string::npos ? "" : arch.substr(0, dash);
  const std::string backbone = dash == std::string::npos ? "" : arch.substr(dash + 1);
  const auto h = std::find_if(
      kHeadNames.begin(), kHeadNames.end(), [&](const auto& n) { return head == n.first; });
  const auto b = std::find_if(kBackboneNames.begin(), kBackboneNames.end(), [&](const auto& n) {
    return backbone == n.first;
  });
  PM_CHECK(h != kHeadNames.end() && b != kBackboneNames.end(),
           "SegModelOptions::arch '{}': unknown segmentation model (known: "
           "deeplab-largefov|deeplabv2|pspnet "
           "-resnet50|-resnet101|-tiny|-resnet38d|-res2net101)",
           arch);
  return {h->second, b->second};
}

std::vector<std::string> SegModelOptions::archs() {
  std::vector<std::string> out;
  for (const auto& head : kHeadNames)
    for (const auto& bb : kBackboneNames)
      out.push_back(std::string(head.first) + "-" + bb.first);
  return out;
}

void SegModelOptions::validate() const {
  parse_seg_arch(arch);
  PM_CHECK(num_classes >= 2 && num_classes <= 255,
           "SegModelOptions::num_classes {}: must be in 2..255 (background included)",
           num_classes);
}

Backbone make_seg_backbone(SegBackboneKind kind, bool frozen_bn) {
  if (kind == SegBackboneKind::kResNet38d) {
    ResNet38dOptions r;
    r.frozen_bn = frozen_bn;
    return Backbone(std::shared_ptr<BackboneImpl>(ResNet38d(r).ptr()));
  }
  if (kind == SegBackboneKind::kRes2Net101) {
    Res2NetOptions r = Res2NetOptions::res2net101_v1b();
    r.output_stride = 8;  // as the ResNets below
    r.dilate = true;
    r.frozen_bn = frozen_bn;
    return Backbone(std::shared_ptr<BackboneImpl>(Res2Net(r).ptr()));
  }
  ResNetOptions r = kind == SegBackboneKind::kResNet101    ? ResNetOptions::resnet101()
                    : kind == SegBackboneKind::kResNetTiny ? ResNetOptions::tiny()
                                                           : ResNetOptions::resnet50();
  r.output_stride = 8;  // strides (1, 2, 1, 1), dilations (1, 1, 2, 4)
  r.dilate = true;
  r.frozen_bn = frozen_bn;
  return Backbone(std::shared_ptr<BackboneImpl>(ResNet(r).ptr()));
}

std::shared_ptr<SegHeadImpl> make_seg_head(const SegArch& arch,
                                           const BackboneImpl& backbone,
                                           int num_classes) {
  const int in = backbone.out_channels();
  const HeadWidths w = head_widths(arch.backbone);
  switch (arch.head) {
    case SegHeadKind::kLargeFov:
      return LargeFovHead(in, w.largefov, num_classes).ptr();
    case SegHeadKind::kDeepLabV2:
      return AsppHead(in, num_classes).ptr();
    case SegHeadKind::kPspNet: {
      const std::vector<int> stages = backbone.stage_channels();
      return PspHead(in, stages[stages.size() - 2], w.psp, w.aux, num_classes).ptr();
    }
  }
  PM_FAIL("make_seg_head: unknown head");
}

SegModelImpl::SegModelImpl(const SegModelOptions& options) : options_(options) {
  options_.validate();
  const SegArch arch = parse_seg_arch(options_.arch);
  backbone = register_module("backbone", make_seg_backbone(arch.backbone, options_.frozen_bn));
  if (options_.norm_eval || options_.frozen_stages != -1) {
    FreezeOptions freeze;
    freeze.norm_eval = options_.norm_eval;
    freeze.frozen_stages = options_.frozen_stages;
    backbone->set_freeze(freeze, "SegModelOptions::frozen_stages");
  }
  head_ = make_seg_head(arch, *backbone, options_.num_classes);
  // The head's children sit at the top level of the state dict (decode.*, aspp.*, ...).
  for (const auto& child : head_->named_children())
    register_module(child.key(), child.value());
}

SegOutput SegModelImpl::forward(const torch::Tensor& x) {
  return head_->forward(backbone->forward_stages(x));
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
  head_->train(on);              // not a child: its own mode decides the auxiliary output
}

void SegModelImpl::load_pretrained_backbone(const Checkpoint& ckpt, const std::string& name) {
  const SegBackboneKind kind = parse_seg_arch(options_.arch).backbone;
  LoadRules rules = kind == SegBackboneKind::kResNet38d    ? resnet38d_rules()
                    : kind == SegBackboneKind::kRes2Net101 ? res2net_rules()
                                                           : torchvision_resnet_rules();
  if (is_classifier_checkpoint(ckpt)) {
    // A `pseudomask train-cls` CNN: its backbone.* is the published network; the classifier
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
