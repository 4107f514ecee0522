// SPDX-License-Identifier: MIT
#pragma once

#include <string>
#include <vector>

#include "pseudomask/core/common/files.h"
#include "pseudomask/core/datasets/dataset.h"

namespace pm::cli {

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
