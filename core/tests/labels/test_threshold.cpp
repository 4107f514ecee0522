// SPDX-License-Identifier: MIT
#include <gtest/gtest.h>

#include "../support/expect_error.h"
#include "pseudomask/core/labels/threshold.h"

namespace pm {
namespace {

TEST(LabelsThreshold, BackgroundWinsTiesAndClassesMapThroughKeys) {
  // Pixels: below, equal to and above the threshold; a tie between the two classes; a pixel
  // where class 1 (key 14) is strongest; and one where both are 0.
  const Planes cams(
      2,
      1,
      6,
      std::vector<float>{0.2f, 0.25f, 0.3f, 0.6f, 0.1f, 0.0f, 0.0f, 0.0f, 0.0f, 0.6f, 0.9f, 0.0f});
  EXPECT_EQ(local_labels_from_cams(cams, 0.25f).labels, (std::vector<uint8_t>{0, 0, 1, 1, 2, 0}));
  EXPECT_EQ(labels_from_cams(cams, {4, 14}, 0.25f, "t").labels,
            (std::vector<uint8_t>{0, 0, 5, 5, 15, 0}));
  // Threshold 0: a CAM of exactly 0 still ties with the background plane, which wins.
  EXPECT_EQ(labels_from_cams(cams, {4, 14}, 0.0f, "t").labels,
            (std::vector<uint8_t>{5, 5, 5, 5, 15, 0}));
}

TEST(LabelsThreshold, NoClassesGivesAllBackground) {
  const Planes cams(0, 2, 3);
  EXPECT_EQ(labels_from_cams(cams, {}, 0.25f, "t").labels, std::vector<uint8_t>(6, 0));
}

TEST(LabelsThreshold, LocalLabelsToClassesKeepsIgnoreAndChecksKeys) {
  LabelMap local(4, 1);
  local.labels = {0, 1, 2, 255};
  EXPECT_EQ(local_labels_to_classes(local, {0, 19}, "t").labels,
            (std::vector<uint8_t>{0, 1, 20, 255}));
  test::expect_error([&] { local_labels_to_classes(local, {0}, "x.npy"); },
                     {"x.npy: label 2 has no key (1 keys)"});
  test::expect_error(
      [&] {
        local_labels_to_classes(local, {0, 254}, "x.npy");
      },
      {"x.npy: class key 254 out of range"});
  test::expect_error([] { labels_from_cams(Planes(2, 1, 1), {3}, 0.2f, "y.npy"); },
                     {"y.npy", "do not match 1 keys"});
}

}  // namespace
}  // namespace pm
