// SPDX-License-Identifier: MIT
#include "common/flags.h"

#include <algorithm>
#include <exception>
#include <sstream>
#include <utility>

#include "pseudomask/core/common/error.h"
#include "pseudomask/core/common/parse.h"
#include "pseudomask/core/eval/evaluate.h"

namespace pm::cli {
namespace {

/// The option fields core names in its errors and the flags that set them, for every command.
const FlagNames kFlagOfField = {
    {"SynthOptions::size", "--size"},
    {"SynthOptions::train", "--train"},
    {"SynthOptions::val", "--val"},
    {"SynthOptions::max_objects", "--max-objects"},
    {"ThresholdSweep", "--thresholds"},
    {"ShardSpec", "--shard"},
    {"CrfParams::iterations", "--iters"},
    {"UrnOptions::scales", "--scales"},
    {"UrnOptions::max_group_channels", "--group-channels"},
    {"UrnOptions::threshold (t)", "--threshold"},
    {"CamCrfOptions::alpha", "--alpha"},
    {"CamCrfOptions::threshold", "--threshold"},
    {"ConfidentLabelOptions::conf_bg", "--conf-bg"},
    {"ConfidentLabelOptions::gt_prob", "--gt-prob"},
    {"PredictOptions::scales", "--scales"},
    {"PredictOptions::window", "--window"},
    {"PredictOptions::stride", "--stride"},
    {"VitCamOptions::input_size", "--vit-size"},
    {"DeviceSpec", "--device"},
};

}  // namespace

std::string name_flags(std::string message, const FlagNames& names) {
  for (const auto& [field, flag] : names) {
    for (size_t at = message.find(field); at != std::string::npos;
         at = message.find(field, at + flag.size()))
      message.replace(at, field.size(), flag);
  }
  return message;
}

std::string with_flag_names(const std::string& message) {
  return name_flags(message, kFlagOfField);
}

ShardSpec parse_shard(const std::string& spec) {
  if (spec.empty())
    return {};
  const size_t slash = spec.find('/');
  PM_CHECK(slash != std::string::npos, "--shard {}: expected INDEX/COUNT, e.g. 0/4", spec);
  ShardSpec shard;
  try {
    shard.index = std::stoul(spec.substr(0, slash));
    shard.count = std::stoul(spec.substr(slash + 1));
  } catch (const std::exception&) {
    PM_FAIL("--shard {}: expected INDEX/COUNT, e.g. 0/4", spec);
  }
  PM_CHECK(
      shard.count > 0 && shard.index < shard.count, "--shard {}: need 0 <= INDEX < COUNT", spec);
  return shard;
}

std::vector<float> parse_thresholds(const std::string& spec) {
  std::vector<float> out;
  if (spec.find(':') != std::string::npos) {
    ThresholdSweep sweep;
    char c1 = 0, c2 = 0;
    std::istringstream in(spec);
    PM_CHECK((in >> sweep.start >> c1 >> sweep.stop >> c2 >> sweep.step) && c1 == ':' &&
                 c2 == ':' && sweep.step > 0 && sweep.stop >= sweep.start,
             "--thresholds {}: expected START:STOP:STEP with STEP > 0, or a comma list",
             spec);
    out = sweep_thresholds(sweep);
  } else {
    out = parse_float_list(spec, "--thresholds");
    std::sort(out.begin(), out.end());
  }
  PM_CHECK(!out.empty(), "--thresholds {}: no thresholds", spec);
  return out;
}

DatasetLayout parse_dataset_layout(const std::string& name) {
  if (name == "voc")
    return DatasetLayout::kVoc;
  if (name == "coco")
    return DatasetLayout::kCoco;
  if (name == "coco91")
    return DatasetLayout::kCoco91;
  if (name == "generic")
    return DatasetLayout::kGeneric;
  PM_FAIL("--layout {}: expected voc, coco, coco91 or generic", name);
}

}  // namespace pm::cli
