// SPDX-License-Identifier: MIT
#include "common/flags.h"

#include <algorithm>
#include <cctype>
#include <exception>
#include <sstream>
#include <utility>

#include "pseudomask/core/common/error.h"
#include "pseudomask/core/common/parse.h"
#include "pseudomask/core/common/printable.h"
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
    // Every preset has its Gaussian term first and its bilateral term second.
    {"CrfParams::terms[0].sxy", "--gaussian SXY"},
    {"CrfParams::terms[0].weight", "--gaussian COMPAT"},
    {"CrfParams::terms[1].sxy", "--bilateral SXY"},
    {"CrfParams::terms[1].srgb", "--bilateral SRGB"},
    {"CrfParams::terms[1].weight", "--bilateral COMPAT"},
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
    {"RandomWalkOptions::radius", "--radius"},
    {"RandomWalkOptions::beta", "--beta"},
    {"RandomWalkOptions::exp_times", "--exp-times"},
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
  return terminal_safe(name_flags(message, kFlagOfField));
}

namespace {

/// A count as the user wrote it in decimal digits only ("2", not "-2", "2abc" or " 2"); false if
/// it is anything else or too large.
bool parse_decimal(const std::string& text, size_t* value) {
  if (text.empty() || text.size() > 9 ||
      !std::all_of(text.begin(), text.end(), [](unsigned char c) { return std::isdigit(c); }))
    return false;
  *value = std::stoul(text);
  return true;
}

}  // namespace

ShardSpec parse_shard(const std::string& spec) {
  if (spec.empty())
    return {};
  const size_t slash = spec.find('/');
  ShardSpec shard;
  PM_CHECK(slash != std::string::npos && parse_decimal(spec.substr(0, slash), &shard.index) &&
               parse_decimal(spec.substr(slash + 1), &shard.count),
           "--shard {}: expected INDEX/COUNT in decimal digits, e.g. 0/4",
           spec);
  PM_CHECK(
      shard.count > 0 && shard.index < shard.count, "--shard {}: need 0 <= INDEX < COUNT", spec);
  return shard;
}

void add_iters_flag(CLI::App* sub, std::optional<int>& iters) {
  sub->add_option_function<int>(
      "--iters", [&iters](const int& n) { iters = n; }, "Mean-field iterations (default: 10)");
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
