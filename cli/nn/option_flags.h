// SPDX-License-Identifier: MIT
#pragma once

// nn's errors name the option field they are about ("TrainClsOptions::epochs 0: must be
// positive"); a command names its own flags. Each training command lists, in one table, which
// flag sets which field, and its errors are told in flags ("--epochs 0: must be positive").

#include <string>
#include <utility>
#include <vector>

#include "pseudomask/core/common/error.h"

namespace pm::cli {

/// (option field as nn's errors name it, the flag that sets it), the longer fields first.
using FlagNames = std::vector<std::pair<std::string, std::string>>;

/// `message` with every field of `names` replaced by its flag.
inline std::string name_flags(std::string message, const FlagNames& names) {
  for (const auto& [field, flag] : names) {
    for (size_t at = message.find(field); at != std::string::npos;
         at = message.find(field, at + flag.size()))
      message.replace(at, field.size(), flag);
  }
  return message;
}

/// Runs `run` (a command's body); a pm::Error it throws is rethrown naming flags, not fields.
template <typename Run>
int run_naming_flags(const FlagNames& names, Run&& run) {
  try {
    return run();
  } catch (const Error& e) {
    throw Error(name_flags(e.what(), names));
  }
}

/// The optimiser's and the training set's fields, set by the same flags in every trainer.
inline const FlagNames& sgd_flag_names() {
  static const FlagNames names = {{"SgdOptions::lr", "--lr"},
                                  {"SgdOptions::momentum", "--momentum"},
                                  {"SgdOptions::weight_decay", "--weight-decay"},
                                  {"batch_size ", "--batch-size "}};
  return names;
}

}  // namespace pm::cli
