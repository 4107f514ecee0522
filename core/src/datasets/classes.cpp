// SPDX-License-Identifier: MIT
#include "pseudomask/core/datasets/classes.h"

#include <array>
#include <filesystem>
#include <fstream>

#include "pseudomask/core/common/error.h"

namespace pm {
namespace {

// COCO category ids that have no category (the 2014 release uses 80 of ids 1..90).
constexpr std::array<int, 10> kCocoUnusedIds = {12, 26, 29, 30, 45, 66, 68, 69, 71, 83};

}  // namespace

const std::vector<std::string>& voc_class_names() {
  static const std::vector<std::string> names = {
      "background", "aeroplane", "bicycle",     "bird",  "boat",        "bottle", "bus",
      "car",        "cat",       "chair",       "cow",   "diningtable", "dog",    "horse",
      "motorbike",  "person",    "pottedplant", "sheep", "sofa",        "train",  "tvmonitor"};
  return names;
}

const std::vector<std::string>& coco_class_names() {
  static const std::vector<std::string> names = {"background",
                                                 "person",
                                                 "bicycle",
                                                 "car",
                                                 "motorcycle",
                                                 "airplane",
                                                 "bus",
                                                 "train",
                                                 "truck",
                                                 "boat",
                                                 "traffic light",
                                                 "fire hydrant",
                                                 "stop sign",
                                                 "parking meter",
                                                 "bench",
                                                 "bird",
                                                 "cat",
                                                 "dog",
                                                 "horse",
                                                 "sheep",
                                                 "cow",
                                                 "elephant",
                                                 "bear",
                                                 "zebra",
                                                 "giraffe",
                                                 "backpack",
                                                 "umbrella",
                                                 "handbag",
                                                 "tie",
                                                 "suitcase",
                                                 "frisbee",
                                                 "skis",
                                                 "snowboard",
                                                 "sports ball",
                                                 "kite",
                                                 "baseball bat",
                                                 "baseball glove",
                                                 "skateboard",
                                                 "surfboard",
                                                 "tennis racket",
                                                 "bottle",
                                                 "wine glass",
                                                 "cup",
                                                 "fork",
                                                 "knife",
                                                 "spoon",
                                                 "bowl",
                                                 "banana",
                                                 "apple",
                                                 "sandwich",
                                                 "orange",
                                                 "broccoli",
                                                 "carrot",
                                                 "hot dog",
                                                 "pizza",
                                                 "donut",
                                                 "cake",
                                                 "chair",
                                                 "couch",
                                                 "potted plant",
                                                 "bed",
                                                 "dining table",
                                                 "toilet",
                                                 "tv",
                                                 "laptop",
                                                 "mouse",
                                                 "remote",
                                                 "keyboard",
                                                 "cell phone",
                                                 "microwave",
                                                 "oven",
                                                 "toaster",
                                                 "sink",
                                                 "refrigerator",
                                                 "book",
                                                 "clock",
                                                 "vase",
                                                 "scissors",
                                                 "teddy bear",
                                                 "hair drier",
                                                 "toothbrush"};
  return names;
}

const std::vector<std::string>& coco91_class_names() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> out(91);
    out[0] = "background";
    size_t next = 1;
    for (int id = 1; id <= 90; ++id) {
      const int mapped = coco91_to_coco81(id);
      out[static_cast<size_t>(id)] =
          mapped < 0 ? "unused_" + std::to_string(id) : coco_class_names()[next++];
    }
    return out;
  }();
  return names;
}

int coco91_to_coco81(int category_id) {
  if (category_id < 0 || category_id > 90)
    return -1;
  if (category_id == 0)
    return 0;
  int label = 0;
  for (int id = 1; id <= category_id; ++id) {
    bool unused = false;
    for (int u : kCocoUnusedIds)
      unused = unused || u == id;
    if (unused) {
      if (id == category_id)
        return -1;
    } else {
      ++label;
    }
  }
  return label;
}

std::vector<std::string> load_class_names(const std::string& name_or_file) {
  if (name_or_file == "voc")
    return voc_class_names();
  if (name_or_file == "coco")
    return coco_class_names();
  if (name_or_file == "coco91")
    return coco91_class_names();
  PM_CHECK(std::filesystem::is_regular_file(name_or_file),
           "{}: not a class set (voc, coco, coco91) nor a class-name file",
           name_or_file);
  std::ifstream in(name_or_file);
  std::vector<std::string> names;
  std::string line;
  while (std::getline(in, line)) {
    while (!line.empty() && (line.back() == '\r' || line.back() == ' '))
      line.pop_back();
    if (!line.empty())
      names.push_back(line);
  }
  PM_CHECK(names.size() >= 2,
           "{}: a class-name file needs background plus at least one class",
           name_or_file);
  PM_CHECK(names.size() <= 255,
           "{}: {} classes, but labels are 8-bit (at most 255 classes)",
           name_or_file,
           names.size());
  return names;
}

DatasetClasses find_dataset_classes(const std::string& label_dir) {
  namespace fs = std::filesystem;
  fs::path dir = fs::absolute(label_dir).lexically_normal();
  if (!dir.has_filename())  // "a/b/" → "a/b"
    dir = dir.parent_path();
  for (int up = 0; up < 3 && !dir.empty(); ++up) {
    const fs::path file = dir / "classes.txt";
    if (fs::is_regular_file(file))
      return {load_class_names(file.string()), file.string()};
    if (dir == dir.parent_path())
      break;
    dir = dir.parent_path();
  }
  return {};
}

std::vector<std::string> default_class_names(int num_classes) {
  if (num_classes == 21)
    return voc_class_names();
  if (num_classes == 81)
    return coco_class_names();
  if (num_classes == 91)
    return coco91_class_names();
  std::vector<std::string> names(static_cast<size_t>(std::max(num_classes, 0)));
  for (int i = 0; i < num_classes; ++i) {
    names[static_cast<size_t>(i)] = i == 0 ? "background" : "class_" + std::to_string(i);
  }
  return names;
}

}  // namespace pm
