// SPDX-License-Identifier: MIT
#include "nn/dataset_flags.h"

namespace pm::cli {

void add_dataset_flags(CLI::App* sub, DatasetFlags& f, const std::string& default_split) {
  f.split = default_split;
  sub->add_option("--dataset", f.root, "Dataset folder (VOC: the folder holding JPEGImages/)")
      ->required()
      ->check(CLI::ExistingDirectory);
  sub->add_option("--layout", f.layout, "voc, coco, coco91 or generic")->capture_default_str();
  sub->add_option("--split", f.split, "Split name (train, train_aug, val, ...) or a list file")
      ->capture_default_str();
}

Dataset open_dataset_flags(const DatasetFlags& f) {
  return open_dataset(parse_dataset_layout(f.layout), f.root, f.split);
}

}  // namespace pm::cli
