// SPDX-License-Identifier: MIT
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "../support/test_paths.h"
#include "pseudomask/core/common/error.h"
#include "pseudomask/core/datasets/classes.h"
#include "pseudomask/core/datasets/dataset.h"
#include "pseudomask/core/io/image/label_io.h"

namespace fs = std::filesystem;

namespace pm {
namespace {

// Builds a VOC-layout copy of tests/data/voc_sample with the official split lists.
void make_voc_copy(const std::string& root) {
  const std::string src = test::data_file("voc_sample");
  fs::create_directories(root + "/ImageSets/Segmentation");
  fs::copy(src + "/JPEGImages", root + "/JPEGImages", fs::copy_options::recursive);
  fs::copy(src + "/SegmentationClass", root + "/SegmentationClass", fs::copy_options::recursive);
  std::ofstream(root + "/ImageSets/Segmentation/train.txt")
      << "2007_000032\n2007_000063\n2007_000363\n2007_000648\n";
  std::ofstream(root + "/ImageSets/Segmentation/val.txt")
      << "2007_000061\n2007_000129\n2007_000175\n2007_001311\n";
  std::ofstream(root + "/train_aug.txt")
      << "/JPEGImages/2007_000032.jpg /SegmentationClassAug/2007_000032.png\n"
      << "/JPEGImages/2007_000063.jpg /SegmentationClassAug/2007_000063.png\n";
}

TEST(DatasetVoc, OpensSplitsAndLabelsMatchTheSampleReadme) {
  test::TempDir dir("voc");
  make_voc_copy(dir.str());
  const Dataset val = open_voc(dir.str(), "val");
  EXPECT_EQ(val.num_classes(), 21);
  EXPECT_EQ(val.ids,
            (std::vector<std::string>{"2007_000061", "2007_000129", "2007_000175", "2007_001311"}));
  EXPECT_EQ(fs::path(val.mask_dir).filename(), "SegmentationClass");
  EXPECT_EQ(fs::path(val.image_path("2007_000129")).filename(), "2007_000129.jpg");
  const auto labels = load_image_labels(val);
  // README: 2007_000061 boat; 2007_000129 bicycle, person; 2007_000175 sheep (0-based ids).
  EXPECT_EQ(labels.at("2007_000061"), (std::vector<int>{3}));
  EXPECT_EQ(labels.at("2007_000129"), (std::vector<int>{1, 14}));
  EXPECT_EQ(labels.at("2007_000175"), (std::vector<int>{16}));
  const Dataset aug = open_voc(dir.str(), "train_aug");
  EXPECT_EQ(aug.ids, (std::vector<std::string>{"2007_000032", "2007_000063"}));
  const auto train_labels = load_image_labels(open_voc(dir.str(), "train"));
  EXPECT_EQ(train_labels.at("2007_000648"),
            (std::vector<int>{0, 5, 6, 14}));  // aeroplane,bus,car,person
  EXPECT_THROW(open_voc(dir.str(), "nosuchsplit"), Error);
  EXPECT_THROW(open_voc(dir / "JPEGImages", "val"), Error);
  EXPECT_THROW(val.mask_path("2099_000000"), Error);
}

TEST(DatasetClasses, VocCocoNamesAndCoco91Mapping) {
  EXPECT_EQ(voc_class_names().size(), 21u);
  EXPECT_EQ(voc_class_names()[15], "person");
  EXPECT_EQ(voc_class_names()[20], "tvmonitor");
  EXPECT_EQ(coco_class_names().size(), 81u);
  EXPECT_EQ(coco_class_names()[1], "person");
  EXPECT_EQ(coco_class_names()[80], "toothbrush");
  ASSERT_EQ(coco91_class_names().size(), 91u);
  EXPECT_EQ(coco91_to_coco81(0), 0);
  EXPECT_EQ(coco91_to_coco81(11), 11);  // fire hydrant
  EXPECT_EQ(coco91_to_coco81(12), -1);  // unused id
  EXPECT_EQ(coco91_to_coco81(13), 12);  // stop sign
  EXPECT_EQ(coco91_to_coco81(90), 80);  // toothbrush
  EXPECT_EQ(coco91_class_names()[13], "stop sign");
  EXPECT_EQ(coco91_class_names()[12], "unused_12");
  int used = 0;
  for (int id = 1; id <= 90; ++id)
    used += coco91_to_coco81(id) > 0;
  EXPECT_EQ(used, 80);
  EXPECT_EQ(default_class_names(5)[4], "class_4");
}

TEST(DatasetCoco, VocStyleLayoutWithSplitFolders) {
  test::TempDir dir("coco");
  fs::create_directories(dir / "JPEGImages/val2014");
  fs::copy(test::data_file("voc_sample/JPEGImages/2007_000175.jpg"),
           dir / "JPEGImages/val2014/COCO_val2014_000000000042.jpg");
  LabelMap m(3, 1);
  m.labels = {0, 80, 1};  // toothbrush, person
  write_label_png(dir / "SegmentationClass/val2014/COCO_val2014_000000000042.png", m);
  std::ofstream(dir / "val2014.txt") << "COCO_val2014_000000000042\n";
  const Dataset d = open_coco(dir.str(), "val2014");
  EXPECT_EQ(d.num_classes(), 81);
  EXPECT_EQ(d.ids, (std::vector<std::string>{"COCO_val2014_000000000042"}));
  EXPECT_NO_THROW(d.image_path(d.ids[0]));
  EXPECT_EQ(load_image_labels(d).at(d.ids[0]), (std::vector<int>{0, 79}));
  // In the 91-id label space the same mask means other classes, and 80 is still in range.
  EXPECT_EQ(open_coco(dir.str(), "val2014", CocoLabels::kCoco91).num_classes(), 91);
  // A label-space name the CLI does not know (coco80) is refused by parse_dataset_layout.
}

TEST(DatasetGeneric, ClassFileListAndMaskLabels) {
  test::TempDir dir("generic");
  fs::create_directories(dir / "images");
  const std::string src = test::data_file("voc_sample");
  fs::copy(src + "/JPEGImages/2007_000175.jpg", dir / "images/a.jpg");
  LabelMap m(4, 2, 0);
  m.labels = {0, 2, 2, 255, 0, 0, 1, 0};
  write_label_png(dir / "masks/a.png", m);
  std::ofstream(dir / "classes.txt") << "background\ncat\ndog\n";
  const Dataset d = open_dataset(DatasetLayout::kGeneric, dir.str(), "none");
  EXPECT_EQ(d.ids, (std::vector<std::string>{"a"}));
  EXPECT_EQ(d.class_names, (std::vector<std::string>{"background", "cat", "dog"}));
  EXPECT_EQ(load_image_labels(d).at("a"), (std::vector<int>{0, 1}));
  m.labels[0] = 3;  // out of range for 3 classes
  EXPECT_THROW(image_labels_from_mask(m, 3, "a.png"), Error);
}

TEST(DatasetClasses, FoundBesideTheGroundTruthInVocAndCocoLayouts) {
  test::TempDir dir("found_classes");
  fs::create_directories(dir / "voc/SegmentationClass");
  fs::create_directories(dir / "coco/SegmentationClass/train2014");
  fs::create_directories(dir / "none/SegmentationClass");
  std::ofstream(dir / "voc/classes.txt") << "background\nsquare\ndisc\n";
  std::ofstream(dir / "coco/classes.txt") << "background\na\nb\nc\n";
  const DatasetClasses voc = find_dataset_classes(dir / "voc/SegmentationClass/");
  EXPECT_EQ(voc.names, (std::vector<std::string>{"background", "square", "disc"}));
  EXPECT_EQ(fs::path(voc.source), fs::path(dir / "voc/classes.txt"));
  const DatasetClasses coco = find_dataset_classes(dir / "coco/SegmentationClass/train2014");
  EXPECT_EQ(coco.names.size(), 4u);
  const DatasetClasses none = find_dataset_classes(dir / "none/SegmentationClass");
  EXPECT_TRUE(none.names.empty());
  EXPECT_EQ(none.source, "");
  std::ofstream(dir / "none/SegmentationClass/classes.txt") << "background\n";  // too few
  EXPECT_THROW(find_dataset_classes(dir / "none/SegmentationClass"), Error);
}

}  // namespace
}  // namespace pm
