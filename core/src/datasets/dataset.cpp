// SPDX-License-Identifier: MIT
#include "pseudomask/core/datasets/dataset.h"

#include <filesystem>

#include "pseudomask/core/common/error.h"
#include "pseudomask/core/common/files.h"
#include "pseudomask/core/datasets/classes.h"
#include "pseudomask/core/datasets/cls_labels.h"

namespace fs = std::filesystem;

namespace pm {
namespace {

bool is_dir(const fs::path& p) {
  std::error_code ec;
  return fs::is_directory(p, ec);
}

bool is_file(const fs::path& p) {
  std::error_code ec;
  return fs::is_regular_file(p, ec);
}

// Resolves a split name to a list file: an existing path is taken as is, otherwise each
// candidate folder is tried for <split>.txt.
std::string find_list(const std::string& split,
                      const std::vector<fs::path>& folders,
                      const std::string& root) {
  if (is_file(split))
    return split;
  for (const auto& folder : folders) {
    const fs::path p = folder / (split + ".txt");
    if (is_file(p))
      return p.string();
  }
  PM_FAIL("{}: no list file for split '{}' (looked for {}.txt in ImageSets and the root)",
          root,
          split,
          split);
}

std::string find_cls_labels(const std::vector<fs::path>& candidates) {
  for (const auto& p : candidates) {
    if (is_file(p))
      return p.string();
  }
  return "";
}

}  // namespace

std::string Dataset::image_path(const std::string& id) const {
  return find_image(image_dir, id);
}

std::string Dataset::mask_path(const std::string& id) const {
  PM_CHECK(!mask_dir.empty(), "dataset '{}' has no masks (needed for id '{}')", name, id);
  const std::string p = find_by_stem(mask_dir, id, {".png"});
  PM_CHECK(!p.empty(), "{}: no mask {}.png", mask_dir, id);
  return p;
}

Dataset open_voc(const std::string& root, const std::string& split, VocMasks masks) {
  const fs::path r(root);
  PM_CHECK(is_dir(r / "JPEGImages"), "{}: not a PASCAL VOC folder (no JPEGImages/)", root);
  Dataset d;
  d.name = "voc";
  // A VOC-layout dataset with its own label set (e.g. `pseudomask synth`) names it in classes.txt.
  d.class_names = is_file(r / "classes.txt") ? load_class_names((r / "classes.txt").string())
                                             : voc_class_names();
  d.image_dir = (r / "JPEGImages").string();
  if (masks == VocMasks::kAuto) {
    masks = is_dir(r / "SegmentationClassAug") ? VocMasks::kSegmentationClassAug
                                               : VocMasks::kSegmentationClass;
  }
  const fs::path mask_dir =
      r / (masks == VocMasks::kSegmentationClassAug ? "SegmentationClassAug" : "SegmentationClass");
  if (is_dir(mask_dir))
    d.mask_dir = mask_dir.string();
  const std::string list =
      find_list(split, {r / "ImageSets" / "Segmentation", r / "ImageSets", r}, root);
  d.ids = read_id_list(list);
  PM_CHECK(!d.ids.empty(), "{}: the list is empty", list);
  d.cls_labels_path = find_cls_labels({r / "cls_labels.npy", r / "ImageSets" / "cls_labels.npy"});
  return d;
}

Dataset open_coco(const std::string& root, const std::string& split, CocoLabels labels) {
  const fs::path r(root);
  Dataset d;
  d.name = labels == CocoLabels::kCoco ? "coco" : "coco91";
  d.class_names = labels == CocoLabels::kCoco ? coco_class_names() : coco91_class_names();
  const std::string split_name = fs::path(split).stem().string();
  const fs::path images =
      is_dir(r / "JPEGImages" / split_name) ? r / "JPEGImages" / split_name : r / "JPEGImages";
  PM_CHECK(is_dir(images), "{}: not a COCO (VOC-style) folder (no JPEGImages/)", root);
  d.image_dir = images.string();
  for (const fs::path& m : {r / "SegmentationClass" / split_name, r / "SegmentationClass"}) {
    if (is_dir(m)) {
      d.mask_dir = m.string();
      break;
    }
  }
  d.ids = read_id_list(find_list(split, {r / "ImageSets", r}, root));
  d.cls_labels_path = find_cls_labels({r / "cls_labels.npy", r / "cls_labels_onehot.npy"});
  return d;
}

Dataset open_generic(const std::string& image_dir,
                     const std::string& mask_dir,
                     const std::string& list_file,
                     const std::string& classes) {
  PM_CHECK(is_dir(image_dir), "{}: no such image folder", image_dir);
  PM_CHECK(mask_dir.empty() || is_dir(mask_dir), "{}: no such mask folder", mask_dir);
  Dataset d;
  d.name = "generic";
  d.class_names = load_class_names(classes);
  d.image_dir = image_dir;
  d.mask_dir = mask_dir;
  if (list_file.empty()) {
    for (const auto& p : list_files(image_dir, {".jpg", ".jpeg", ".png"}))
      d.ids.push_back(file_stem(p));
  } else {
    d.ids = read_id_list(list_file);
  }
  PM_CHECK(!d.ids.empty(), "{}: no images listed", list_file.empty() ? image_dir : list_file);
  return d;
}

Dataset open_dataset(DatasetLayout layout, const std::string& root, const std::string& split) {
  switch (layout) {
    case DatasetLayout::kVoc:
      return open_voc(root, split);
    case DatasetLayout::kCoco:
      return open_coco(root, split, CocoLabels::kCoco);
    case DatasetLayout::kCoco91:
      return open_coco(root, split, CocoLabels::kCoco91);
    case DatasetLayout::kGeneric:
      break;
  }
  const fs::path r(root);
  const fs::path list = is_file(split) ? fs::path(split) : r / (split + ".txt");
  return open_generic((r / "images").string(),
                      is_dir(r / "masks") ? (r / "masks").string() : "",
                      is_file(list) ? list.string() : "",
                      (r / "classes.txt").string());
}

std::vector<int> image_labels_from_mask(const LabelMap& mask,
                                        int num_classes,
                                        const std::string& name) {
  std::vector<bool> seen(256, false);
  for (uint8_t v : mask.labels)
    seen[v] = true;
  std::vector<int> labels;
  for (int v = 1; v < 255; ++v) {
    if (!seen[static_cast<size_t>(v)])
      continue;
    PM_CHECK(v < num_classes, "{}: label {} is out of range for {} classes", name, v, num_classes);
    labels.push_back(v - 1);
  }
  return labels;
}

std::map<std::string, std::vector<int>> load_image_labels(const Dataset& dataset) {
  std::map<std::string, std::vector<int>> out;
  if (!dataset.cls_labels_path.empty()) {
    const ClsLabels cls = read_cls_labels(dataset.cls_labels_path);
    PM_CHECK(cls.num_classes == dataset.num_classes() - 1,
             "{}: {}-class vectors, but dataset '{}' has {} foreground classes",
             dataset.cls_labels_path,
             cls.num_classes,
             dataset.name,
             dataset.num_classes() - 1);
    for (const auto& id : dataset.ids) {
      const auto it = cls.multi_hot.find(id);
      PM_CHECK(
          it != cls.multi_hot.end(), "{}: no labels for image '{}'", dataset.cls_labels_path, id);
      std::vector<int>& labels = out[id];
      for (size_t c = 0; c < it->second.size(); ++c) {
        if (it->second[c])
          labels.push_back(static_cast<int>(c));
      }
    }
    return out;
  }
  for (const auto& id : dataset.ids) {
    const std::string path = dataset.mask_path(id);
    out[id] = image_labels_from_mask(read_label_png(path), dataset.num_classes(), path);
  }
  return out;
}

}  // namespace pm
