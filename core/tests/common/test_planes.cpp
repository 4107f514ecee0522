// SPDX-License-Identifier: MIT
#include <gtest/gtest.h>

#include <vector>

#include "../support/expect_error.h"
#include "pseudomask/core/common/error.h"
#include "pseudomask/core/common/ndarray.h"
#include "pseudomask/core/common/planes.h"

namespace pm {
namespace {

TEST(Planes, ShapeAndPlaneAccessInCOrder) {
  Planes p(2, 2, 3, std::vector<float>{0, 1, 2, 3, 4, 5, 10, 11, 12, 13, 14, 15});
  EXPECT_EQ(p.channels(), 2);
  EXPECT_EQ(p.pixels(), 6u);
  EXPECT_EQ(p.size(), 12u);
  EXPECT_EQ(p.describe(), "(2, 2, 3)");
  EXPECT_EQ(p.plane(1)[0], 10.0f);
  EXPECT_EQ(p.at(1, 1, 2), 15.0f);  // channel 1, row 1, column 2
  EXPECT_EQ(p.at(0, 1, 0), 3.0f);
  test::expect_error([] { Planes(2, 2, 3, std::vector<float>(11)); },
                     {"11 values for (2, 2, 3), expected 12"});
}

TEST(Planes, ToAndFromNdarrayKeepsValuesAndConvertsDtypes) {
  NDArray a(DType::kF64, {2, 1, 2});
  for (int i = 0; i < 4; ++i)
    a.data<double>()[i] = 0.25 * i;
  const Planes p = planes_from_ndarray(a, "x.npy", "high_res");
  EXPECT_EQ(p.describe(), "(2, 1, 2)");
  EXPECT_EQ(p.values(), (std::vector<float>{0.0f, 0.25f, 0.5f, 0.75f}));
  const NDArray back = planes_to_ndarray(p);
  EXPECT_EQ(back.dtype(), DType::kF32);
  EXPECT_EQ(back.shape(), (std::vector<int64_t>{2, 1, 2}));
  EXPECT_EQ(back.data<float>()[3], 0.75f);
  test::expect_error(
      [] {
        planes_from_ndarray(NDArray(DType::kF32, {4, 4}), "x.npy", "cam");
      },
      {"x.npy: cam is", "expected (C, H, W)"});
}

TEST(Planes, SelectPlanesReordersAndRepeatsAndRefusesAnUnknownIndex) {
  const Planes p(3, 1, 2, std::vector<float>{0, 1, 10, 11, 20, 21});
  EXPECT_EQ(select_planes(p, {2, 0, 2}).values(), (std::vector<float>{20, 21, 0, 1, 20, 21}));
  EXPECT_EQ(select_planes(p, {}).channels(), 0);
  test::expect_error([&] { select_planes(p, {3}); }, {"plane 3 is out of range for 3 planes"});
}

TEST(BoxBlur, MeansOverTheWindowClippedAtTheBorders) {
  // 3×2 plane:  1 2 3
  //             4 5 6
  const Planes plane(1, 2, 3, std::vector<float>{1, 2, 3, 4, 5, 6});
  const Planes out = box_blur(plane, 1);
  ASSERT_EQ(out.size(), 6u);
  EXPECT_FLOAT_EQ(out.at(0, 0, 0), (1 + 2 + 4 + 5) / 4.0f);          // corner: a 2×2 window
  EXPECT_FLOAT_EQ(out.at(0, 0, 1), (1 + 2 + 3 + 4 + 5 + 6) / 6.0f);  // edge: a 3×2 window
  EXPECT_FLOAT_EQ(out.at(0, 1, 2), (2 + 3 + 5 + 6) / 4.0f);
}

TEST(BoxBlur, EveryPlaneOnItsOwn) {
  // Plane 1 is plane 0 times 10: blurring may not mix the planes.
  const Planes planes(2, 2, 2, std::vector<float>{1, 2, 3, 4, 10, 20, 30, 40});
  const Planes out = box_blur(planes, 1);
  for (size_t p = 0; p < 4; ++p) {
    EXPECT_FLOAT_EQ(out.plane(0)[p], 2.5f);
    EXPECT_FLOAT_EQ(out.plane(1)[p], 25.0f);
  }
}

TEST(BoxBlur, RadiusZeroKeepsThePlaneAndAConstantStaysConstant) {
  const Planes plane(1, 2, 2, std::vector<float>{0.5f, 0.25f, 1.0f, 0.0f});
  EXPECT_EQ(box_blur(plane, 0).values(), plane.values());
  const Planes blurred = box_blur(Planes(1, 4, 5, 1.0f), 3);  // kept: values() is a reference
  for (float v : blurred.values())
    EXPECT_FLOAT_EQ(v, 1.0f);
  EXPECT_THROW(box_blur(plane, -1), Error);
}

TEST(ArgmaxLabels, PicksTheLargestPlaneAndTheLowestOnTies) {
  // Two labels over three pixels: label 1 wins pixel 1, a tie at pixel 2 goes to label 0.
  const Planes planes(2, 1, 3, std::vector<float>{0.9f, 0.2f, 0.5f, 0.1f, 0.8f, 0.5f});
  const LabelMap m = argmax_labels(planes);
  EXPECT_EQ(m.width, 3);
  EXPECT_EQ(m.height, 1);
  EXPECT_EQ(m.labels, (std::vector<uint8_t>{0, 1, 0}));
}

}  // namespace
}  // namespace pm
