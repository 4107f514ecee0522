// SPDX-License-Identifier: MIT
#pragma once

#include <CLI/CLI.hpp>

#include <initializer_list>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "pseudomask/core/common/error.h"
#include "pseudomask/core/common/files.h"
#include "pseudomask/core/crf/dense_crf.h"
#include "pseudomask/core/datasets/dataset.h"
#include "pseudomask/core/ensemble/ensemble.h"
#include "pseudomask/core/io/image/label_io.h"
#include "pseudomask/core/labels/cam_crf.h"
#include "pseudomask/core/urn/uncertainty.h"

namespace pm::cli {

/// (option field as an error names it, the flag that sets it), the longer fields first.
using FlagNames = std::vector<std::pair<std::string, std::string>>;

/// `message` with every field of `names` replaced by its flag.
std::string name_flags(std::string message, const FlagNames& names);

/// Runs `run` (a command's body); a pm::Error it throws is rethrown naming the flags of `names`
/// (a command's own table, e.g. a trainer's options) instead of their fields.
template <typename Run>
int run_naming_flags(const FlagNames& names, Run&& run) {
  try {
    return run();
  } catch (const Error& e) {
    throw Error(name_flags(e.what(), names));
  }
}

/// Core's errors name option fields ("SynthOptions::size 8: expected 32 to 1024 pixels"), the
/// CLI's name its flags ("--size 8: ..."). `message` with every field the CLI sets from a flag
/// replaced by that flag: the one map from fields to flags, applied to every error the CLI
/// prints.
std::string with_flag_names(const std::string& message);

/// --shard "I/N" (0 <= I < N, both in decimal digits, nothing else) as a ShardSpec; "" is the
/// whole list. Throws naming --shard.
ShardSpec parse_shard(const std::string& spec);

/// Adds --iters, the CRF's mean-field iterations, to `sub`: `iters` stays empty unless given (the
/// preset's count); a given count is checked by CrfParams::validate (an error names --iters).
void add_iters_flag(CLI::App* sub, std::optional<int>& iters);

/// --thresholds "START:STOP:STEP" (a ThresholdSweep) or a comma list (sorted). Throws naming
/// --thresholds.
std::vector<float> parse_thresholds(const std::string& spec);

/// --layout: voc, coco, coco91 or generic. Throws naming --layout.
DatasetLayout parse_dataset_layout(const std::string& name);

// Command-line words -> core's enums: a flag's value is matched against the names core gives
// its enum values, so a bad value fails naming the flag and every choice, and core never sees a
// string.

/// The value v of `all` whose name_of(v) is `word`; throws "<flag> <word>: expected a, b or c".
template <typename Enum, typename NameOf>
Enum enum_flag(const std::string& flag,
               const std::string& word,
               std::initializer_list<Enum> all,
               NameOf name_of) {
  std::string expected;
  size_t i = 0;
  for (Enum v : all) {
    if (word == name_of(v))
      return v;
    expected += i == 0 ? "" : i + 1 == all.size() ? " or " : ", ";
    expected += name_of(v);
    ++i;
  }
  PM_FAIL("{} {}: expected {}", flag, word, expected);
}

/// deeplab | urn | irn.
inline CrfPreset crf_preset_flag(const std::string& flag, const std::string& word) {
  return enum_flag(
      flag, word, {CrfPreset::kDeepLab, CrfPreset::kUrn, CrfPreset::kIrn}, crf_preset_name);
}

/// voc | coco.
inline UrnDataset urn_dataset_flag(const std::string& flag, const std::string& word) {
  return enum_flag(flag, word, {UrnDataset::kVoc, UrnDataset::kCoco}, urn_dataset_name);
}

/// hard | soft | prob.
inline UrnWeightMode urn_weight_mode_flag(const std::string& flag, const std::string& word) {
  return enum_flag(flag,
                   word,
                   {UrnWeightMode::kHard, UrnWeightMode::kSoft, UrnWeightMode::kProb},
                   urn_weight_mode_name);
}

/// or | and | mean.
inline EnsembleMode ensemble_mode_flag(const std::string& flag, const std::string& word) {
  return enum_flag(
      flag, word, {EnsembleMode::kOr, EnsembleMode::kAnd, EnsembleMode::kMean}, ensemble_mode_name);
}

/// combine | downsample | none.
inline LowResPolicy low_res_policy_flag(const std::string& flag, const std::string& word) {
  return enum_flag(flag,
                   word,
                   {LowResPolicy::kCombine, LowResPolicy::kDownsample, LowResPolicy::kNone},
                   low_res_policy_name);
}

/// power | constant.
inline BackgroundModel background_model_flag(const std::string& flag, const std::string& word) {
  return enum_flag(
      flag, word, {BackgroundModel::kPower, BackgroundModel::kConstant}, background_model_name);
}

/// irn | disagree.
inline UncertainRule uncertain_rule_flag(const std::string& flag, const std::string& word) {
  return enum_flag(
      flag, word, {UncertainRule::kIrn, UncertainRule::kAnyDisagreement}, uncertain_rule_name);
}

/// --palette none | voc: how a command writes its label PNGs.
inline LabelPngColors palette_flag(const std::string& word) {
  return enum_flag("--palette",
                   word,
                   {LabelPngColors::kGray, LabelPngColors::kVocPalette},
                   label_png_colors_name);
}

/// The help of --palette, the same in every command that writes label PNGs.
inline const char* palette_help() {
  return "Label PNG colours: none (8-bit grayscale: PIL, imageio and OpenCV all read the raw "
         "indices) or voc (VOC palette for viewing; imageio and OpenCV then read colours)";
}

}  // namespace pm::cli
