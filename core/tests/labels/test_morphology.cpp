// SPDX-License-Identifier: MIT
#include <gtest/gtest.h>

#include "pseudomask/core/labels/morphology.h"

namespace pm {
namespace {

LabelMap from_rows(int w, int h, std::vector<uint8_t> v) {
  LabelMap m(w, h);
  m.labels = std::move(v);
  return m;
}

TEST(LabelsMorphology, DilateTakesSmallestForegroundInWindow) {
  const LabelMap m = from_rows(5, 1, {0, 3, 0, 2, 0});
  EXPECT_EQ(dilate_foreground(m, 1).labels, (std::vector<uint8_t>{3, 3, 2, 2, 2}));
  EXPECT_EQ(dilate_foreground(m, 0).labels, m.labels);
}

TEST(LabelsMorphology, ErodeClipsAtBorderAndKeepsIgnore) {
  const LabelMap m = from_rows(4, 3, {1, 1, 1, 0, 1, 1, 1, 0, 1, 1, 1, 255});
  EXPECT_EQ(erode_foreground(m, 1).labels,
            (std::vector<uint8_t>{1, 1, 0, 0, 1, 1, 0, 0, 1, 1, 0, 255}));
}

TEST(LabelsMorphology, ReplaceLabel) {
  EXPECT_EQ(replace_label(from_rows(3, 1, {255, 1, 255}), 255, 0).labels,
            (std::vector<uint8_t>{0, 1, 0}));
}

}  // namespace
}  // namespace pm
