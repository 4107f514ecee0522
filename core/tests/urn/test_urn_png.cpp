// SPDX-License-Identifier: MIT
// The official URN label file's channel order (cv2 BGR: B = M_c, G = R = W8) and its round trip.
#include <gtest/gtest.h>

#include <set>

#include "../support/expect_error.h"
#include "../support/test_paths.h"
#include "pseudomask/core/io/image/image_io.h"
#include "pseudomask/core/urn/urn_png.h"

namespace pm {
namespace {

TEST(UrnPng, RoundTripStoresTheLabelInBlue) {
  test::TempDir dir("urn_png");
  LabelMap mask(3, 2);
  WeightMap weight(3, 2);
  mask.labels = {0, 4, 15, 20, 0, 4};
  weight.bytes = {255, 0, 28, 113, 12, 13};
  const std::string path = dir / "x.png";
  write_urn_png(path, mask, weight);
  // The trap: an RGB reader sees (W8, W8, M_c), so channel 0 is the weight, not the label.
  const RgbImage rgb = read_image(path);
  for (size_t p = 0; p < 6; ++p) {
    EXPECT_EQ(rgb.pixels[3 * p + 0], weight.bytes[p]) << "R = W8";
    EXPECT_EQ(rgb.pixels[3 * p + 1], weight.bytes[p]) << "G = W8";
    EXPECT_EQ(rgb.pixels[3 * p + 2], mask.labels[p]) << "B = M_c";
  }
  const UrnLabel back = read_urn_png(path);
  EXPECT_EQ(back.mask.labels, mask.labels);
  EXPECT_EQ(back.weight_byte.bytes, weight.bytes);
  EXPECT_EQ(back.mask.width, 3);
  EXPECT_EQ(back.mask.height, 2);
}

TEST(UrnPng, TheOfficialReferenceFileHasTheSameLayout) {
  // Written by the official code's behaviour (cv2.imwrite of [M_c, W8, W8]): 2007_000061 is a
  // boat (class 4) on background, so B holds {0, 4} and R = G the weight levels.
  const UrnLabel ref = read_urn_png(test::data_file("voc_sample/urn_reference/2007_000061.png"));
  const std::set<uint8_t> labels(ref.mask.labels.begin(), ref.mask.labels.end());
  EXPECT_EQ(labels, (std::set<uint8_t>{0, 4}));
  const std::set<uint8_t> weights(ref.weight_byte.bytes.begin(), ref.weight_byte.bytes.end());
  EXPECT_EQ(weights, (std::set<uint8_t>{0, 28, 113, 255}));
}

TEST(UrnPng, RejectsAFileWhoseRedAndGreenDiffer) {
  test::TempDir dir("urn_png_bad");
  RgbImage image(4, 2);
  image.pixels[3 * 5 + 0] = 7;  // pixel (x=1, y=1): R = 7, G = 0
  const std::string path = dir / "rgb.png";
  write_png_rgb(path, image);
  test::expect_error([&] { read_urn_png(path); }, {"rgb.png", "not an URN label file", "x=1, y=1"});
  test::expect_error([] { urn_official_image(LabelMap(2, 2), WeightMap(3, 2)); }, {"2x2", "3x2"});
}

TEST(UrnPng, WeightGrayIsRoundedWeightTimes255) {
  const WeightMap g =
      weight_to_gray(Planes(1, 2, 2, std::vector<float>{0.05f, 1.0f, 0.0f, 28.0f / 255}));
  EXPECT_EQ(g.width, 2);
  EXPECT_EQ(g.height, 2);
  EXPECT_EQ(g.bytes, (std::vector<uint8_t>{13, 255, 0, 28}));
  // Weights are one plane; more are refused.
  test::expect_error([] { weight_to_gray(Planes(2, 2, 2, 0.5f)); },
                     {"weights are (2, 2, 2), expected (1, H, W)"});
}

}  // namespace
}  // namespace pm
