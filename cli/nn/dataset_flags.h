// SPDX-License-Identifier: MIT
#pragma once

#include <CLI/CLI.hpp>

#include <map>
#include <string>
#include <vector>

#include "common/flags.h"  // parse_dataset_layout
#include "pseudomask/core/datasets/dataset.h"

namespace pm::cli {

/// The dataset flags of the nn commands: a dataset folder read by core/datasets (open_dataset).
struct DatasetFlags {
  std::string root;             ///< dataset folder (VOC: the folder holding JPEGImages/)
  std::string layout = "voc";   ///< voc, coco, coco91 or generic
  std::string split = "train";  ///< split name or list file
};

/// Adds --dataset, --layout and --split.
void add_dataset_flags(CLI::App* sub, DatasetFlags& f, const std::string& default_split);

/// Opens the dataset and its image-level labels (cls_labels.npy, or from the masks).
Dataset open_dataset_flags(const DatasetFlags& f);

}  // namespace pm::cli
