// SPDX-License-Identifier: MIT
#pragma once

// Loading a state dict (pm::Checkpoint, read without libtorch by core/io/checkpoint.h) into a
// torch::nn::Module by name, with strict name and shape checks and named renaming rules for the
// places where our layout differs from the published checkpoints'.

#include <torch/nn/module.h>

#include <string>
#include <vector>

#include "pseudomask/core/io/torch/checkpoint.h"

namespace pm::nn {

/// One renaming rule: file keys starting with `from` are loaded into the module's `to` + rest.
/// With `reshape`, a tensor whose element count matches the target's is reshaped to it (VGG's
/// Linear fc6 (4096, 25088) → conv (4096, 512, 7, 7)).
struct RenameRule {
  std::string from;
  std::string to;
  bool reshape = false;
};

/// How a family of published checkpoints maps onto our modules.
struct LoadRules {
  /// Applied in order; the first matching rule wins.
  std::vector<RenameRule> renames;
  /// File keys starting with one of these are left out on purpose (e.g. ImageNet heads) and
  /// reported as ignored, not as unexpected.
  std::vector<std::string> ignore_prefixes;
  /// A `pos_embed` (ViT) whose grid differs from the module's is resampled instead of being a
  /// shape mismatch, by `pos_embed_mode`: "bicubic" (timm) or "bilinear" (ORANDNet's code).
  bool resample_pos_embed = false;
  std::string pos_embed_mode = "bicubic";
  /// Module parameters/buffers that may stay at their initial values when the file lacks them
  /// (prefixes), e.g. a new classifier head.
  std::vector<std::string> allow_missing_prefixes;
  /// Module buffers that may stay at their initial values when the file lacks them, by the end
  /// of their name (e.g. "num_batches_tracked", which files converted from other frameworks or
  /// saved by PyTorch < 0.4.1 do not have).
  std::vector<std::string> allow_missing_suffixes;
};

/// torchvision ResNet: names already match; `fc.*` (the ImageNet head) is ignored when the module
/// has no fc.
LoadRules torchvision_resnet_rules();
/// torchvision VGG: classifier.0 → fc6, classifier.3 → fc7 (reshaped into convolutions);
/// classifier.6 (the ImageNet head) ignored.
LoadRules torchvision_vgg_rules();
/// timm / DeiT ViT: names match; `head.*` ignored when the module has no head, `head_dist.*` and
/// `dist_token` (distilled DeiT) ignored, pos_embed resampled to the module's grid.
LoadRules timm_vit_rules();
/// ResNet-38 (res38d .pth converted from the MXNet ImageNet model): names match; the converted
/// files have no num_batches_tracked (allowed missing); an ImageNet head `linear1000.*` ignored.
LoadRules resnet38d_rules();
/// Res2Net v1b (official .pth): names match; `fc.*` ignored when the module has none;
/// num_batches_tracked allowed missing.
LoadRules res2net_rules();

/// What a load did, by parameter name.
struct LoadReport {
  std::vector<std::string> loaded;      ///< module names that received a tensor
  std::vector<std::string> missing;     ///< module names the file has no tensor for
  std::vector<std::string> unexpected;  ///< file names that match nothing in the module
  std::vector<std::string> mismatched;  ///< "name: file (a, b) vs model (c, d)"
  std::vector<std::string> ignored;     ///< file names left out by an ignore rule
  std::vector<std::string> adapted;     ///< "file → module (how)": renamed, reshaped, resampled
  std::vector<std::string> allowed_missing;  ///< missing names covered by allow_missing_prefixes

  /// True when nothing is missing, unexpected or mismatched.
  bool ok() const { return missing.empty() && unexpected.empty() && mismatched.empty(); }
  /// One line: "loaded 320 tensors; 2 missing (a, b); 1 unexpected (c); ...".
  std::string summary() const;
};

/// Copies the checkpoint's tensors into the module's parameters and buffers (named as
/// Module::named_parameters / named_buffers do, e.g. "layer1.0.conv1.weight"), converting dtypes.
/// `prefix` is prepended to the module's names before matching (so a backbone can be loaded
/// from a file whose keys are "backbone.conv1.weight"); file keys without it are unexpected.
/// With `strict`, throws pm::Error "<name>: cannot load: 2 missing (...); 1 shape mismatch (...)"
/// (lists cut after a few names) unless report.ok(); otherwise loads what matches and returns
/// the report. Nothing is changed when a strict load fails.
LoadReport load_state_dict(torch::nn::Module& module,
                           const Checkpoint& checkpoint,
                           const LoadRules& rules,
                           const std::string& name,
                           bool strict = true,
                           const std::string& prefix = "");

/// The module's parameters and buffers as a Checkpoint (CPU, C order), names prefixed.
Checkpoint state_dict_of(const torch::nn::Module& module, const std::string& prefix = "");

}  // namespace pm::nn
