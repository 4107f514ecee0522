// SPDX-License-Identifier: MIT
#pragma once

#include <map>
#include <string>
#include <vector>

#include "pseudomask/core/common/image.h"
#include "pseudomask/core/io/image/label_io.h"

namespace pm {

/// A segmentation dataset on disk: where the images and masks of a list of image ids are, and
/// what the label ids mean. Layout-specific constructors below fill it in; everything
/// downstream only uses this struct.
struct Dataset {
  std::string name;                      ///< "voc", "coco", "coco91" or "generic"
  std::vector<std::string> class_names;  ///< label id → name; index 0 is background
  std::string image_dir;                 ///< folder of <id>.jpg / <id>.png images
  std::string mask_dir;                  ///< folder of <id>.png label maps ("" if none)
  std::vector<std::string> ids;          ///< image ids of the chosen split, in list order
  std::string cls_labels_path;           ///< IRN-style cls_labels.npy if one was found, or ""

  int num_classes() const { return static_cast<int>(class_names.size()); }
  /// Path of the image of `id` (.jpg, .jpeg or .png); throws naming the folder if none exists.
  std::string image_path(const std::string& id) const;
  /// Path of the mask of `id`; throws if the dataset has no masks or the file is missing.
  std::string mask_path(const std::string& id) const;
};

/// Which VOC mask folder a dataset reads.
enum class VocMasks {
  kAuto,                  ///< SegmentationClassAug if present, else SegmentationClass
  kSegmentationClass,     ///< SegmentationClass/
  kSegmentationClassAug,  ///< SegmentationClassAug/
};

/// PASCAL VOC 2012 under `root` (the folder holding JPEGImages/). `split` is a name such as
/// "train", "val", "trainval" or "train_aug", looked up as ImageSets/Segmentation/<split>.txt
/// and then <root>/<split>.txt, or a path to a list file. The class names are VOC's unless
/// <root>/classes.txt exists (one name per line, background first), as in the datasets
/// `pseudomask synth` writes.
Dataset open_voc(const std::string& root,
                 const std::string& split,
                 VocMasks masks = VocMasks::kAuto);

/// The label space of a COCO dataset.
enum class CocoLabels {
  kCoco,    ///< "coco": 81 labels, background + the 80 classes
  kCoco91,  ///< "coco91": 0 + the 90 category ids
};

/// COCO 2014 in the VOC-style layout WSSS code uses: <root>/JPEGImages/<split>/ and
/// <root>/SegmentationClass/<split>/ (or flat JPEGImages/ and SegmentationClass/), with a list
/// <root>/<split>.txt or ImageSets/<split>.txt, or a list path. The dataset's name is "coco" or
/// "coco91" after `labels`.
Dataset open_coco(const std::string& root,
                  const std::string& split,
                  CocoLabels labels = CocoLabels::kCoco);

/// A generic layout: an image folder, a mask folder (may be ""), a list file (or "" for every
/// image in the folder) and a class-name file or set name ("voc", "coco").
Dataset open_generic(const std::string& image_dir,
                     const std::string& mask_dir,
                     const std::string& list_file,
                     const std::string& classes);

/// The folder layouts open_dataset reads.
enum class DatasetLayout {
  kVoc,      ///< open_voc
  kCoco,     ///< open_coco, CocoLabels::kCoco
  kCoco91,   ///< open_coco, CocoLabels::kCoco91
  kGeneric,  ///< `root` holds images/, masks/ and classes.txt; split is a list name or path
};

/// Opens a dataset of the given layout.
Dataset open_dataset(DatasetLayout layout, const std::string& root, const std::string& split);

/// Foreground classes present in a mask as 0-based class ids (label l ≥ 1 → l − 1), ascending;
/// 0 and 255 are skipped. Throws if a label is ≥ num_classes (and not 255).
std::vector<int> image_labels_from_mask(const LabelMap& mask,
                                        int num_classes,
                                        const std::string& name);

/// Image-level labels (0-based foreground ids) of every id of the dataset: from its
/// cls_labels.npy when it has one, else from its masks. Throws naming the first id whose
/// labels are missing.
std::map<std::string, std::vector<int>> load_image_labels(const Dataset& dataset);

}  // namespace pm
