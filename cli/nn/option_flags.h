// SPDX-License-Identifier: MIT
#pragma once

// nn's errors name the option field they are about ("TrainClsOptions::epochs 0: must be
// positive"); a command names its own flags. Each training command lists, in one table, which
// flag sets which field, and its errors are told in flags ("--epochs 0: must be positive").

#include "common/flags.h"

namespace pm::cli {

/// The optimiser's and the training set's fields, set by the same flags in every trainer.
inline const FlagNames& sgd_flag_names() {
  static const FlagNames names = {{"SgdOptions::lr", "--lr"},
                                  {"SgdOptions::momentum", "--momentum"},
                                  {"SgdOptions::weight_decay", "--weight-decay"},
                                  {"batch_size ", "--batch-size "}};
  return names;
}

}  // namespace pm::cli
