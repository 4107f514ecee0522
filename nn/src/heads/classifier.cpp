// SPDX-License-Identifier: MIT
#include "pseudomask/nn/heads/classifier.h"

#include <torch/nn/init.h>

#include <algorithm>

#include "pseudomask/core/common/error.h"

namespace pm::nn {
namespace {

/// Output stride of the CNN classifiers (IRN's resnet50_cam: strides (2, 2, 2, 1)).
constexpr int kCnnOutputStride = 16;
/// Default ViT input side.
constexpr int kVitDefaultSize = 224;

ResNetOptions resnet_options(const ClassifierOptions& o) {
  ResNetOptions r = o.arch == "resnet101"  ? ResNetOptions::resnet101()
                    : o.arch == "resnet50" ? ResNetOptions::resnet50()
                                           : ResNetOptions::tiny();
  r.output_stride = kCnnOutputStride;
  r.frozen_bn = o.frozen_bn;
  return r;
}

ViTOptions vit_options(const ClassifierOptions& o) {
  ViTOptions v = o.arch == "deit-base"    ? ViTOptions::deit_base()
                 : o.arch == "deit-small" ? ViTOptions::deit_small()
                 : o.arch == "deit-tiny"  ? ViTOptions::deit_tiny()
                                          : ViTOptions::tiny();
  v.image_size = o.image_size > 0 ? o.image_size : kVitDefaultSize;
  return v;
}

void append(std::vector<torch::Tensor>& out, const std::vector<torch::Tensor>& more) {
  out.insert(out.end(), more.begin(), more.end());
}

}  // namespace

const std::vector<std::string>& classifier_archs() {
  static const std::vector<std::string> archs = {
      "resnet50", "resnet101", "resnet-tiny", "deit-base", "deit-small", "deit-tiny", "vit-tiny"};
  return archs;
}

bool ClassifierOptions::is_vit() const {
  return arch.rfind("deit", 0) == 0 || arch.rfind("vit", 0) == 0;
}

void ClassifierOptions::validate() const {
  const auto& archs = classifier_archs();
  PM_CHECK(std::find(archs.begin(), archs.end(), arch) != archs.end(),
           "ClassifierOptions::arch {}: unknown architecture (expected resnet50, resnet101, "
           "resnet-tiny, "
           "deit-base, deit-small, deit-tiny or vit-tiny)",
           arch);
  PM_CHECK(num_classes >= 1, "ClassifierOptions::num_classes {}: must be positive", num_classes);
  PM_CHECK(image_size >= 0, "ClassifierOptions::image_size {}: must be >= 0", image_size);
}

ClassifierImpl::ClassifierImpl(const ClassifierOptions& options) : options_(options) {
  options_.validate();
  if (is_vit()) {
    vit = register_module("backbone", VisionTransformer(vit_options(options_)));
    linear_head =
        register_module("classifier", torch::nn::Linear(vit->options().dim, options_.num_classes));
  } else {
    resnet = register_module("backbone", ResNet(resnet_options(options_)));
    conv_head = register_module(
        "classifier",
        torch::nn::Conv2d(
            torch::nn::Conv2dOptions(resnet->options().out_channels(), options_.num_classes, 1)
                .bias(false)));
    // IRN initialises its new head with PyTorch's default; xavier keeps the initial logits
    // small for any width.
    torch::nn::init::xavier_uniform_(conv_head->weight);
  }
}

torch::Tensor ClassifierImpl::forward(const torch::Tensor& x) {
  if (is_vit())
    return linear_head(vit->forward(x));
  // IRN resnet50_cam: GAP, then the 1x1 conv, flattened to (N, K).
  const torch::Tensor pooled = resnet->features(x).mean({2, 3}, /*keepdim=*/true);
  return conv_head(pooled).flatten(1);
}

torch::Tensor ClassifierImpl::class_maps(const torch::Tensor& x) {
  PM_CHECK(
      !is_vit(), "class_maps: {} is a ViT; use the attention relevance instead", options_.arch);
  return conv_head(resnet->features(x));
}

LoadReport ClassifierImpl::load_pretrained(const Checkpoint& checkpoint, const std::string& name) {
  if (is_vit())
    return load_state_dict(*vit, checkpoint, timm_vit_rules(), name);
  return load_state_dict(*resnet, checkpoint, torchvision_resnet_rules(), name);
}

void ClassifierImpl::freeze_stem() {
  std::vector<torch::Tensor> frozen;
  if (is_vit()) {
    frozen = vit->patch_embed->parameters();
  } else {
    append(frozen, resnet->conv1->parameters());
    append(frozen, resnet->bn1->parameters());
    append(frozen, resnet->layer1->parameters());
    append(frozen, resnet->layer2->parameters());
  }
  for (auto& p : frozen)
    p.set_requires_grad(false);
}

std::vector<torch::Tensor> ClassifierImpl::backbone_parameters() {
  std::vector<torch::Tensor> out;
  const auto all = is_vit() ? vit->parameters() : resnet->parameters();
  for (const auto& p : all) {
    if (p.requires_grad())
      out.push_back(p);
  }
  return out;
}

std::vector<torch::Tensor> ClassifierImpl::head_parameters() {
  return is_vit() ? linear_head->parameters() : conv_head->parameters();
}

}  // namespace pm::nn
