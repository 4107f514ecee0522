// SPDX-License-Identifier: MIT
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "pseudomask/core/common/error.h"
#include "pseudomask/core/common/files.h"
#include "pseudomask/core/datasets/dataset.h"

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

/// --shard "I/N" (0 <= I < N) as a ShardSpec; "" is the whole list. Throws naming --shard.
ShardSpec parse_shard(const std::string& spec);

/// --thresholds "START:STOP:STEP" (a ThresholdSweep) or a comma list (sorted). Throws naming
/// --thresholds.
std::vector<float> parse_thresholds(const std::string& spec);

/// --layout: voc, coco, coco91 or generic. Throws naming --layout.
DatasetLayout parse_dataset_layout(const std::string& name);

}  // namespace pm::cli
