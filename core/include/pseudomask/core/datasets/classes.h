// SPDX-License-Identifier: MIT
#pragma once

#include <string>
#include <vector>

namespace pm {

/// PASCAL VOC 2012: 21 names, background first (label id = index).
const std::vector<std::string>& voc_class_names();

/// COCO 2014 in the 81-class WSSS convention: background, then the 80 categories in COCO
/// category-id order (label id = index).
const std::vector<std::string>& coco_class_names();

/// COCO 2014 with the original category ids (0 = background, 1..90, with the 10 unused ids
/// among 1..90 named "unused_<id>"): the 91-channel label space of URN's COCO configs.
const std::vector<std::string>& coco91_class_names();

/// Maps a COCO category id (0..90) to its 81-class WSSS label (0..80), or -1 for an unused id.
int coco91_to_coco81(int category_id);

/// Class names of a known label set ("voc", "coco", "coco91"), or read from a text file (one
/// name per line, background first). Throws for an unknown name or an unreadable file.
std::vector<std::string> load_class_names(const std::string& name_or_file);

/// The class names of a dataset and where they were found ("" if nowhere).
struct DatasetClasses {
  std::vector<std::string> names;  ///< label id → name, background first; empty if not found
  std::string source;              ///< the classes.txt read, or ""
};

/// The classes of the dataset a ground-truth label folder belongs to: the first classes.txt in
/// `label_dir` or the two folders above it (VOC layout <root>/SegmentationClass, COCO layout
/// <root>/SegmentationClass/<split>; `pseudomask synth` writes <root>/classes.txt). Empty names
/// if there is none. Throws naming the file if it is unreadable or malformed.
DatasetClasses find_dataset_classes(const std::string& label_dir);

/// Default class names for a class count: VOC for 21, COCO for 81, COCO91 for 91, otherwise
/// "background", "class_1", ...
std::vector<std::string> default_class_names(int num_classes);

}  // namespace pm
