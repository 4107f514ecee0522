// SPDX-License-Identifier: MIT
// Tests of the overlays and layouts: hand-computed pixels of blends, the palette and the jet
// colormap, exact grid geometry, and one-line errors.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "../support/expect_error.h"
#include "pseudomask/core/vis/layout.h"
#include "pseudomask/core/vis/overlay.h"

namespace pm {
namespace {

using Rgb = std::array<uint8_t, 3>;

Rgb pixel(const RgbImage& img, int x, int y) {
  const uint8_t* p = &img.pixels[(static_cast<size_t>(y) * img.width + x) * 3];
  return {p[0], p[1], p[2]};
}

RgbImage solid(int w, int h, Rgb c) {
  RgbImage img(w, h);
  for (size_t i = 0; i < img.num_pixels(); ++i)
    std::copy(c.begin(), c.end(), img.pixels.begin() + i * 3);
  return img;
}

TEST(VisOverlay, BlendLabelsIsTheRoundedWeightedMeanWithThePaletteColour) {
  RgbImage img(2, 1);
  img.pixels = {100, 50, 200, 0, 0, 0};
  LabelMap labels(2, 1);
  labels.labels = {1, 255};  // aeroplane (128, 0, 0) and ignore (224, 224, 192)
  const RgbImage half = blend_labels(img, labels);
  // (100·127 + 128·128 + 127) / 255 = 114, (50·127 + 127) / 255 = 25, (200·127 + 127) / 255 = 100
  EXPECT_EQ(pixel(half, 0, 0), (Rgb{114, 25, 100}));
  // (224·128 + 127) / 255 = 112, (192·128 + 127) / 255 = 96
  EXPECT_EQ(pixel(half, 1, 0), (Rgb{112, 112, 96}));
  EXPECT_EQ(blend_labels(img, labels, /*alpha=*/0).pixels, img.pixels);
  EXPECT_EQ(pixel(blend_labels(img, labels, /*alpha=*/255), 1, 0), (Rgb{224, 224, 192}));
}

TEST(VisOverlay, ColorizeUsesTheVocPalette) {
  LabelMap labels(4, 1);
  labels.labels = {0, 15, 20, 255};
  const RgbImage c = colorize_labels(labels);
  EXPECT_EQ(pixel(c, 0, 0), (Rgb{0, 0, 0}));
  EXPECT_EQ(pixel(c, 1, 0), (Rgb{192, 128, 128}));  // person
  EXPECT_EQ(pixel(c, 2, 0), (Rgb{0, 64, 128}));     // tvmonitor
  EXPECT_EQ(pixel(c, 3, 0), (Rgb{224, 224, 192}));  // ignore
}

TEST(VisColormap, JetEndpointsMiddleAndClamping) {
  EXPECT_EQ(jet(0.0f), (Rgb{0, 0, 128}));
  EXPECT_EQ(jet(0.25f), (Rgb{0, 128, 255}));
  EXPECT_EQ(jet(0.5f), (Rgb{128, 255, 128}));
  EXPECT_EQ(jet(0.75f), (Rgb{255, 128, 0}));
  EXPECT_EQ(jet(1.0f), (Rgb{128, 0, 0}));
  EXPECT_EQ(jet(-3.0f), jet(0.0f));
  EXPECT_EQ(jet(7.0f), jet(1.0f));
  EXPECT_EQ(jet(std::numeric_limits<float>::quiet_NaN()), jet(0.0f));
}

TEST(VisOverlay, HeatmapBlendAndUncertainty) {
  const RgbImage img = solid(2, 1, {0, 0, 0});
  const Planes values(1, 1, 2, std::vector<float>{0.0f, 1.0f});
  const RgbImage heat = blend_heatmap(img, values, /*alpha=*/255);
  EXPECT_EQ(pixel(heat, 0, 0), jet(0.0f));
  EXPECT_EQ(pixel(heat, 1, 0), jet(1.0f));
  // Half over black: (128·128 + 127) / 255 = 64.
  EXPECT_EQ(pixel(blend_heatmap(img, values), 1, 0), (Rgb{64, 0, 0}));
  WeightMap w(2, 1);
  w.bytes = {255, 0};  // full weight = certain, zero weight = most uncertain
  const RgbImage u = uncertainty_panel(w);
  EXPECT_EQ(pixel(u, 0, 0), jet(0.0f));
  EXPECT_EQ(pixel(u, 1, 0), jet(1.0f));
}

TEST(VisOverlay, CamPanelsOnePerKeyResizedToTheImage) {
  const RgbImage img = solid(4, 2, {0, 0, 0});
  CamFile cams;
  cams.keys = {0, 14};
  // Full resolution: channel 0 is 1 everywhere, channel 1 is 0 everywhere.
  std::vector<float> hr(2 * 2 * 4, 0.0f);
  std::fill(hr.begin(), hr.begin() + 8, 1.0f);
  cams.high_res = Planes(2, 2, 4, hr);
  const auto panels = cam_panels(img, cams);
  ASSERT_EQ(panels.size(), 2u);
  EXPECT_EQ(pixel(panels[0], 3, 1), (Rgb{64, 0, 0}));
  EXPECT_EQ(pixel(panels[1], 3, 1), (Rgb{0, 0, 64}));
  // Only the stride-4 'cam' (1×1 here): resized up to the image.
  CamFile low;
  low.keys = {3};
  low.cam = Planes(1, 1, 1, 0.5f);
  const auto up = cam_panels(img, low);
  ASSERT_EQ(up.size(), 1u);
  EXPECT_EQ(up[0].width, 4);
  EXPECT_EQ(up[0].height, 2);
  EXPECT_EQ(pixel(up[0], 2, 1), (Rgb{64, 128, 64}));  // jet(0.5) at half over black
}

TEST(VisLayout, HstackPlacesPanelsWithGaps) {
  const RgbImage s = hstack({solid(3, 2, {1, 1, 1}), solid(4, 5, {2, 2, 2})}, /*gap=*/2, {9, 9, 9});
  EXPECT_EQ(s.width, 3 + 2 + 4);
  EXPECT_EQ(s.height, 5);
  EXPECT_EQ(pixel(s, 2, 1), (Rgb{1, 1, 1}));
  EXPECT_EQ(pixel(s, 3, 0), (Rgb{9, 9, 9}));  // the gap
  EXPECT_EQ(pixel(s, 5, 0), (Rgb{2, 2, 2}));  // second panel's corner
  EXPECT_EQ(pixel(s, 0, 3), (Rgb{9, 9, 9}));  // below the shorter panel
}

TEST(VisLayout, GridSizesAndCellPositions) {
  std::vector<RgbImage> cells;
  for (uint8_t i = 0; i < 4; ++i)
    cells.push_back(solid(2, 3, {i, i, i}));
  cells.push_back(solid(4, 1, {7, 7, 7}));
  const RgbImage g = grid(cells, /*columns=*/2, /*gap=*/1, {200, 200, 200});
  // Cells 4×3; 2 columns, 3 rows.
  EXPECT_EQ(g.width, 2 * 4 + 3 * 1);
  EXPECT_EQ(g.height, 3 * 3 + 4 * 1);
  EXPECT_EQ(pixel(g, 1, 1), (Rgb{0, 0, 0}));
  EXPECT_EQ(pixel(g, 6, 5), (Rgb{3, 3, 3}));        // cell 3 at (1 + 5, 1 + 4)
  EXPECT_EQ(pixel(g, 8, 5), (Rgb{200, 200, 200}));  // right of the 2-wide cell 3
  EXPECT_EQ(pixel(g, 4, 9), (Rgb{7, 7, 7}));        // cell 4 is 4 wide
  // Fewer cells than columns: the grid is only as wide as the cells.
  EXPECT_EQ(grid({solid(2, 2, {0, 0, 0})}, 4, 1).width, 4);
}

TEST(VisLayout, ContactSheetGeometry) {
  std::vector<RgbImage> images(3, solid(8, 8, {10, 20, 30}));
  std::vector<LabelMap> masks(3, LabelMap(8, 8, 1));
  const RgbImage sheet = contact_sheet(images, masks, /*columns=*/2);
  const int strip = 3 * 8 + 2 * 2;  // image | mask | overlay with 2 px gaps
  EXPECT_EQ(sheet.width, 2 * strip + 3 * 4);
  EXPECT_EQ(sheet.height, 2 * 8 + 3 * 4);
  EXPECT_EQ(pixel(sheet, 4, 4), (Rgb{10, 20, 30}));
  EXPECT_EQ(pixel(sheet, 4 + 10, 4), (Rgb{128, 0, 0}));  // the mask panel
}

TEST(VisErrors, OneLineMessagesForBadInput) {
  test::expect_error([] { blend_labels(RgbImage(4, 2), LabelMap(3, 2)); },
                     {"label map is 3x2, image is 4x2"});
  test::expect_error([] { blend_labels(RgbImage(1, 1), LabelMap(1, 1), 300); }, {"alpha 300"});
  test::expect_error([] { grid({RgbImage(1, 1)}, 0); }, {"0 columns"});
  test::expect_error([] { hstack({}); }, {"no panels"});
  test::expect_error([] { contact_sheet({RgbImage(2, 2)}, {}, 1); }, {"1 images but 0 masks"});
  CamFile bad;
  bad.keys = {0, 1};
  bad.high_res = Planes(1, 2, 2, 0.0f);
  test::expect_error([&] { cam_panels(RgbImage(2, 2), bad); }, {"for 2 keys"});
}

}  // namespace
}  // namespace pm
