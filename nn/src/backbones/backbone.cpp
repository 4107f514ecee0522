// SPDX-License-Identifier: MIT
#include "pseudomask/nn/backbones/backbone.h"

#include <torch/nn/modules/batchnorm.h>

#include "pseudomask/core/common/error.h"

namespace pm::nn {
namespace {

bool is_batch_norm(const torch::nn::Module& m) {
  return m.as<torch::nn::BatchNorm1d>() != nullptr || m.as<torch::nn::BatchNorm2d>() != nullptr ||
         m.as<torch::nn::BatchNorm3d>() != nullptr;
}

/// The first `count` stages (stem included) of `stages`.
std::vector<FreezeStage> first_stages(std::vector<FreezeStage> stages, int frozen_stages) {
  stages.resize(static_cast<size_t>(frozen_stages + 1));
  return stages;
}

}  // namespace

void BackboneImpl::set_freeze(const FreezeOptions& options, const std::string& field) {
  const int stages = static_cast<int>(freeze_stages().size()) - 1;  // the stem is not a stage
  PM_CHECK(options.frozen_stages >= -1,
           "{} {}: must be -1 (none) or a stage count",
           field,
           options.frozen_stages);
  PM_CHECK(options.frozen_stages <= std::max(stages, -1),
           "{} {}: this backbone has {} stages after its stem",
           field,
           options.frozen_stages,
           std::max(stages, 0));
  freeze_ = options;
  if (freeze_.frozen_stages >= 0) {
    for (const FreezeStage& stage : first_stages(freeze_stages(), freeze_.frozen_stages)) {
      for (const auto& m : stage.modules) {
        for (auto& p : m->parameters())
          p.set_requires_grad(false);
      }
      for (torch::Tensor p : stage.parameters)
        p.set_requires_grad(false);
    }
  }
  train(is_training());
}

void BackboneImpl::train(bool on) {
  torch::nn::Module::train(on);
  if (!on)
    return;
  if (freeze_.norm_eval || fixed_batch_norm_) {
    for (const auto& m : modules(/*include_self=*/false)) {
      if (is_batch_norm(*m))
        m->eval();
    }
  }
  if (freeze_.frozen_stages >= 0) {
    for (const FreezeStage& stage : first_stages(freeze_stages(), freeze_.frozen_stages)) {
      for (const auto& m : stage.modules)
        m->eval();
    }
  }
}

FreezeState BackboneImpl::freeze_state() const {
  FreezeState s;
  for (const auto& p : parameters())
    ++(p.requires_grad() ? s.trainable_parameters : s.frozen_parameters);
  for (const auto& m : modules(/*include_self=*/false)) {
    if (is_batch_norm(*m)) {
      ++s.norm_layers;
      s.norm_layers_eval += m->is_training() ? 0 : 1;
    }
  }
  return s;
}

}  // namespace pm::nn
