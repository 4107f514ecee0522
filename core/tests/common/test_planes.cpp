// SPDX-License-Identifier: MIT
#include <gtest/gtest.h>

#include <vector>

#include "pseudomask/core/common/error.h"
#include "pseudomask/core/common/planes.h"

namespace pm {
namespace {

TEST(BoxBlur, MeansOverTheWindowClippedAtTheBorders) {
  // 3×2 plane:  1 2 3
  //             4 5 6
  const std::vector<float> plane{1, 2, 3, 4, 5, 6};
  const std::vector<float> out = box_blur(plane, 3, 2, 1);
  ASSERT_EQ(out.size(), 6u);
  EXPECT_FLOAT_EQ(out[0], (1 + 2 + 4 + 5) / 4.0f);          // corner: a 2×2 window
  EXPECT_FLOAT_EQ(out[1], (1 + 2 + 3 + 4 + 5 + 6) / 6.0f);  // edge: a 3×2 window
  EXPECT_FLOAT_EQ(out[5], (2 + 3 + 5 + 6) / 4.0f);
}

TEST(BoxBlur, RadiusZeroKeepsThePlaneAndAConstantStaysConstant) {
  const std::vector<float> plane{0.5f, 0.25f, 1.0f, 0.0f};
  EXPECT_EQ(box_blur(plane, 2, 2, 0), plane);
  const std::vector<float> ones(20, 1.0f);
  for (float v : box_blur(ones, 5, 4, 3))
    EXPECT_FLOAT_EQ(v, 1.0f);
}

TEST(BoxBlur, RefusesAPlaneOfTheWrongSize) {
  EXPECT_THROW(box_blur(std::vector<float>(5), 3, 2, 1), Error);
}

TEST(ArgmaxLabels, PicksTheLargestPlaneAndTheLowestOnTies) {
  // Two labels over three pixels: label 1 wins pixel 1, a tie at pixel 2 goes to label 0.
  const std::vector<float> planes{0.9f, 0.2f, 0.5f, 0.1f, 0.8f, 0.5f};
  const LabelMap m = argmax_labels(planes.data(), 2, 3, 1);
  EXPECT_EQ(m.width, 3);
  EXPECT_EQ(m.height, 1);
  EXPECT_EQ(m.labels, (std::vector<uint8_t>{0, 1, 0}));
}

}  // namespace
}  // namespace pm
