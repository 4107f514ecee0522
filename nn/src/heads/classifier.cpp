// SPDX-License-Identifier: MIT
#include "pseudomask/nn/heads/classifier.h"

#include <algorithm>
#include <array>
#include <utility>

#include "pseudomask/core/common/error.h"
#include "pseudomask/nn/backbones/res2net.h"
#include "pseudomask/nn/backbones/resnet38d.h"

namespace pm::nn {
namespace {

/// Output stride of the CNN classifiers (IRN's resnet50_cam: strides (2, 2, 2, 1)).
constexpr int kCnnOutputStride = 16;
/// Default ViT input side.
constexpr int kVitDefaultSize = 224;

/// ClassifierOptions::arch's names, in classifier_archs() order.
constexpr std::array<std::pair<const char*, ClassifierArch>, 9> kArchNames{{
    {"resnet50", ClassifierArch::kResNet50},
    {"resnet101", ClassifierArch::kResNet101},
    {"resnet-tiny", ClassifierArch::kResNetTiny},
    {"resnet38d", ClassifierArch::kResNet38d},
    {"res2net101", ClassifierArch::kRes2Net101},
    {"deit-base", ClassifierArch::kDeiTBase},
    {"deit-small", ClassifierArch::kDeiTSmall},
    {"deit-tiny", ClassifierArch::kDeiTTiny},
    {"vit-tiny", ClassifierArch::kViTTiny},
}};

const std::pair<const char*, ClassifierArch>* find_arch(const std::string& arch) {
  const auto it = std::find_if(
      kArchNames.begin(), kArchNames.end(), [&](const auto& n) { return arch == n.first; });
  return it == kArchNames.end() ? nullptr : &*it;
}

ResNetOptions resnet_options(ClassifierArch arch, const ClassifierOptions& o) {
  ResNetOptions r = arch == ClassifierArch::kResNet101  ? ResNetOptions::resnet101()
                    : arch == ClassifierArch::kResNet50 ? ResNetOptions::resnet50()
                                                        : ResNetOptions::tiny();
  r.output_stride = kCnnOutputStride;
  r.frozen_bn = o.frozen_bn;
  return r;
}

ViTOptions vit_options(ClassifierArch arch, const ClassifierOptions& o) {
  ViTOptions v = arch == ClassifierArch::kDeiTBase    ? ViTOptions::deit_base()
                 : arch == ClassifierArch::kDeiTSmall ? ViTOptions::deit_small()
                 : arch == ClassifierArch::kDeiTTiny  ? ViTOptions::deit_tiny()
                                                      : ViTOptions::tiny();
  v.image_size = o.image_size > 0 ? o.image_size : kVitDefaultSize;
  return v;
}

/// IRN's CAM network: the ResNet, then CamHead; conv1 to layer2 frozen.
ClassifierParts resnet_parts(ClassifierArch arch, const ClassifierOptions& o) {
  const ResNet resnet(resnet_options(arch, o));
  return {Backbone(std::shared_ptr<BackboneImpl>(resnet.ptr())),
          CamHead(resnet->out_channels(), o.num_classes).ptr(),
          torchvision_resnet_rules(),
          {resnet->conv1.ptr(), resnet->bn1.ptr(), resnet->layer1.ptr(), resnet->layer2.ptr()}};
}

/// PSA's ResNet-38 classifier: ResNet-38 at output stride 8, then CamHead; conv1a frozen (PSA's
/// not_training).
ClassifierParts resnet38d_parts(const ClassifierOptions& o) {
  ResNet38dOptions r;
  r.frozen_bn = o.frozen_bn;
  const ResNet38d net(r);
  return {Backbone(std::shared_ptr<BackboneImpl>(net.ptr())),
          CamHead(net->out_channels(), o.num_classes).ptr(),
          resnet38d_rules(),
          {net->conv1a.ptr()}};
}

/// Res2Net-101 v1b as the ResNet CAM network: output stride 16 (layer4 not strided), CamHead;
/// the stem, layer1 and layer2 frozen.
ClassifierParts res2net_parts(const ClassifierOptions& o) {
  Res2NetOptions r = Res2NetOptions::res2net101_v1b();
  r.output_stride = kCnnOutputStride;
  r.frozen_bn = o.frozen_bn;
  const Res2Net net(r);
  return {Backbone(std::shared_ptr<BackboneImpl>(net.ptr())),
          CamHead(net->out_channels(), o.num_classes).ptr(),
          res2net_rules(),
          {net->conv1.ptr(), net->bn1.ptr(), net->layer1.ptr(), net->layer2.ptr()}};
}

/// The ViT, then ClassTokenHead; patch_embed frozen.
ClassifierParts vit_parts(ClassifierArch arch, const ClassifierOptions& o) {
  const VisionTransformer vit(vit_options(arch, o));
  LoadRules rules = timm_vit_rules();
  rules.pos_embed_mode = o.pos_embed_resample;
  return {Backbone(std::shared_ptr<BackboneImpl>(vit.ptr())),
          ClassTokenHead(vit->out_channels(), o.num_classes).ptr(),
          rules,
          {vit->patch_embed.ptr()}};
}

}  // namespace

const std::vector<std::string>& classifier_archs() {
  static const std::vector<std::string> archs = [] {
    std::vector<std::string> names;
    for (const auto& n : kArchNames)
      names.emplace_back(n.first);
    return names;
  }();
  return archs;
}

ClassifierArch parse_classifier_arch(const std::string& arch) {
  const auto* found = find_arch(arch);
  PM_CHECK(found != nullptr,
           "ClassifierOptions::arch {}: unknown architecture (expected resnet50, resnet101, "
           "resnet-tiny, resnet38d, res2net101, deit-base, deit-small, deit-tiny or vit-tiny)",
           arch);
  return found->second;
}

bool is_vit(ClassifierArch arch) {
  return arch == ClassifierArch::kDeiTBase || arch == ClassifierArch::kDeiTSmall ||
         arch == ClassifierArch::kDeiTTiny || arch == ClassifierArch::kViTTiny;
}

bool ClassifierOptions::is_vit() const {
  return arch.rfind("deit", 0) == 0 || arch.rfind("vit", 0) == 0;
}

void ClassifierOptions::validate() const {
  parse_classifier_arch(arch);
  PM_CHECK(num_classes >= 1, "ClassifierOptions::num_classes {}: must be positive", num_classes);
  PM_CHECK(image_size >= 0, "ClassifierOptions::image_size {}: must be >= 0", image_size);
  PM_CHECK(pos_embed_resample == "bicubic" || pos_embed_resample == "bilinear",
           "ClassifierOptions::pos_embed_resample '{}': expected bicubic or bilinear",
           pos_embed_resample);
  PM_CHECK(frozen_stages >= kPretrainedStem,
           "ClassifierOptions::frozen_stages {}: must be -1 (none), a stage count, or -2 (the "
           "pretrained default)",
           frozen_stages);
}

ClassifierParts make_classifier_parts(ClassifierArch arch, const ClassifierOptions& options) {
  if (is_vit(arch))
    return vit_parts(arch, options);
  if (arch == ClassifierArch::kResNet38d)
    return resnet38d_parts(options);
  if (arch == ClassifierArch::kRes2Net101)
    return res2net_parts(options);
  return resnet_parts(arch, options);
}

ClassifierImpl::ClassifierImpl(const ClassifierOptions& options) : options_(options) {
  options_.validate();
  parts_ = make_classifier_parts(parse_classifier_arch(options_.arch), options_);
  backbone = register_module("backbone", parts_.backbone);
  if (options_.norm_eval || options_.frozen_stages >= 0) {
    FreezeOptions freeze;
    freeze.norm_eval = options_.norm_eval;
    freeze.frozen_stages = std::max(options_.frozen_stages, -1);
    backbone->set_freeze(freeze, "ClassifierOptions::frozen_stages");
  }
  // The head's child sits at the top level of the state dict (classifier.*).
  for (const auto& child : parts_.head->named_children())
    register_module(child.key(), child.value());
}

torch::Tensor ClassifierImpl::forward(const torch::Tensor& x) {
  return parts_.head->forward(backbone->forward_features(x));
}

torch::Tensor ClassifierImpl::class_maps(const torch::Tensor& x) {
  auto* cam_head = dynamic_cast<CamHeadImpl*>(parts_.head.get());
  PM_CHECK(cam_head != nullptr,
           "class_maps: {} is a ViT; use the attention relevance instead",
           options_.arch);
  return cam_head->class_maps(backbone->forward_features(x));
}

LoadReport ClassifierImpl::load_pretrained(const Checkpoint& checkpoint, const std::string& name) {
  return load_state_dict(*backbone, checkpoint, parts_.pretrained_rules, name);
}

void ClassifierImpl::freeze_stem() {
  for (const auto& module : parts_.stem) {
    for (auto& p : module->parameters())
      p.set_requires_grad(false);
  }
}

std::vector<torch::Tensor> ClassifierImpl::backbone_parameters() {
  std::vector<torch::Tensor> out;
  for (const auto& p : backbone->parameters()) {
    if (p.requires_grad())
      out.push_back(p);
  }
  return out;
}

std::vector<torch::Tensor> ClassifierImpl::head_parameters() {
  return parts_.head->parameters();
}

ResNetImpl& ClassifierImpl::resnet() {
  auto* net = dynamic_cast<ResNetImpl*>(backbone.get());
  PM_CHECK(net != nullptr, "{} is not a ResNet", options_.arch);
  return *net;
}

VisionTransformerImpl& ClassifierImpl::vit() {
  auto* net = dynamic_cast<VisionTransformerImpl*>(backbone.get());
  PM_CHECK(net != nullptr, "{} is not a ViT", options_.arch);
  return *net;
}

}  // namespace pm::nn
