// SPDX-License-Identifier: MIT
#include <gtest/gtest.h>

#include "pseudomask/core/vis/annotate.h"
#include "pseudomask/core/vis/overlay.h"
#include "pseudomask/core/vis/text.h"

namespace pm {
namespace {

std::array<uint8_t, 3> at(const RgbImage& im, int x, int y) {
  const uint8_t* p = &im.pixels[(static_cast<size_t>(y) * im.width + x) * 3];
  return {p[0], p[1], p[2]};
}

constexpr std::array<uint8_t, 3> kBlack{0, 0, 0};
constexpr std::array<uint8_t, 3> kWhite{255, 255, 255};

TEST(VisText, GlyphPixelsWidthsScaleAndClipping) {
  EXPECT_EQ(text_width("AB"), 11);
  EXPECT_EQ(text_width("AB", 2), 22);
  EXPECT_EQ(text_width(""), 0);
  RgbImage im(12, 8);
  draw_text(im, 0, 0, "Il", {255, 0, 0});  // 'I': top row .###., middle ..#..; 'l' drawn as 'L'
  EXPECT_EQ(at(im, 0, 0), kBlack);
  EXPECT_EQ(at(im, 1, 0), (std::array<uint8_t, 3>{255, 0, 0}));
  EXPECT_EQ(at(im, 2, 3), (std::array<uint8_t, 3>{255, 0, 0}));
  EXPECT_EQ(at(im, 1, 3), kBlack);
  EXPECT_EQ(at(im, 6, 0), (std::array<uint8_t, 3>{255, 0, 0}));   // L's stem
  EXPECT_EQ(at(im, 10, 6), (std::array<uint8_t, 3>{255, 0, 0}));  // L's foot
  EXPECT_EQ(at(im, 10, 5), kBlack);
  RgbImage big(4, 4);
  draw_text(big, -3, 0, "W", {9, 9, 9});  // columns 0-2 clipped; column 4 of row 0 lands at x 1
  EXPECT_EQ(at(big, 1, 0), (std::array<uint8_t, 3>{9, 9, 9}));
  EXPECT_EQ(at(big, 0, 0), kBlack);
}

TEST(VisAnnotate, TitleLegendColourBarAndVstack) {
  EXPECT_EQ(text_scale_for(320), 1);
  EXPECT_EQ(text_scale_for(500), 2);
  EXPECT_EQ(text_scale_for(1000), 3);
  EXPECT_EQ(with_title(RgbImage(40, 10), "x", 2).height, 10 + 2 * kTitleHeight);
  RgbImage panel(40, 10);
  const RgbImage t = with_title(panel, "a very long title that does not fit");
  EXPECT_EQ(t.width, 40);
  EXPECT_EQ(t.height, 10 + kTitleHeight);
  EXPECT_EQ(at(t, 39, 0), kWhite);                // the cut title leaves the right edge white
  EXPECT_EQ(at(t, 5, kTitleHeight + 3), kBlack);  // the panel below the band

  const RgbImage one = legend({{"cat", {10, 20, 30}}}, 100);
  EXPECT_EQ(one.height, kTextLineHeight);
  EXPECT_EQ(at(one, 0, 0), kBlack);                                // swatch border
  EXPECT_EQ(at(one, 3, 3), (std::array<uint8_t, 3>{10, 20, 30}));  // swatch
  const RgbImage wrapped = legend({{"aeroplane", {1, 1, 1}}, {"bicycle", {2, 2, 2}}}, 60);
  EXPECT_EQ(wrapped.height, 2 * kTextLineHeight + 1);
  EXPECT_EQ(at(wrapped, 3, kTextLineHeight + 1 + 3), (std::array<uint8_t, 3>{2, 2, 2}));

  const RgbImage bar = jet_colour_bar(50, "0", "1", "CAM");
  EXPECT_EQ(at(bar, 0, 0), jet(0.0f));
  EXPECT_EQ(at(bar, 49, 0), jet(1.0f));

  const RgbImage v = vstack({RgbImage(3, 2), RgbImage(5, 1)}, 2);
  EXPECT_EQ(v.width, 5);
  EXPECT_EQ(v.height, 5);
  EXPECT_EQ(at(v, 4, 0), kWhite);  // narrower image: white beside it
  EXPECT_EQ(at(v, 0, 2), kWhite);  // the gap
  EXPECT_EQ(at(v, 4, 4), kBlack);
}

}  // namespace
}  // namespace pm
