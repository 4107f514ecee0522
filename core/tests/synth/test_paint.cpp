// SPDX-License-Identifier: MIT
// Tests of the synthetic dataset's integer geometry, textures and random stream: hand-counted
// pixel sets and the published splitmix64 reference values.
#include <gtest/gtest.h>

#include <set>
#include <utility>

#include "../support/expect_error.h"
#include "pseudomask/core/synth/paint.h"
#include "pseudomask/core/synth/rng.h"

namespace pm {
namespace {

using Pixels = std::set<std::pair<int, int>>;

Pixels covered(const Shape& shape, int size = 16) {
  Pixels out;
  const PixelBox box = shape.bounds(size, size);
  for (int y = box.y0; y < box.y1; ++y) {
    for (int x = box.x0; x < box.x1; ++x) {
      if (shape.covers(pixel_centre(x), pixel_centre(y)))
        out.insert({x, y});
    }
  }
  return out;
}

/// Every covered pixel of the whole image, ignoring bounds(): checks that bounds() misses none.
Pixels covered_everywhere(const Shape& shape, int size = 16) {
  Pixels out;
  for (int y = 0; y < size; ++y) {
    for (int x = 0; x < size; ++x) {
      if (shape.covers(pixel_centre(x), pixel_centre(y)))
        out.insert({x, y});
    }
  }
  return out;
}

TEST(SynthRng, SplitMix64ReferenceValues) {
  // The first outputs of splitmix64 seeded with 0 (Vigna's reference implementation).
  uint64_t state = 0;
  EXPECT_EQ(splitmix64(state), 0xE220A8397B1DCDAFull);
  EXPECT_EQ(splitmix64(state), 0x6E789E6AA1B965F4ull);
  EXPECT_EQ(splitmix64(state), 0x06C45D188009454Full);
}

TEST(SynthRng, UniformStaysInRangeAndHitsBothEnds) {
  SynthRng rng(42);
  int seen_lo = 0, seen_hi = 0;
  for (int i = 0; i < 2000; ++i) {
    const int64_t v = rng.uniform(-3, 3);
    ASSERT_GE(v, -3);
    ASSERT_LE(v, 3);
    seen_lo += v == -3;
    seen_hi += v == 3;
  }
  EXPECT_GT(seen_lo, 200);  // ~286 expected
  EXPECT_GT(seen_hi, 200);
  int hits = 0;
  for (int i = 0; i < 10000; ++i)
    hits += rng.chance(/*permille=*/250);
  EXPECT_NEAR(hits, 2500, 200);
  test::expect_error([&] { rng.uniform(2, 1); }, {"empty range"});
}

TEST(SynthPaint, DiscOfOnePixelRadiusCoversTheCentreAndItsFourNeighbours) {
  // Radius 16 sub-pixel units = 1 px: the 4-neighbours are exactly on the circle (inside), the
  // diagonals at sqrt(2) px are outside.
  const Shape disc = Shape::ellipse({pixel_centre(5), pixel_centre(5)}, 16, 16);
  EXPECT_EQ(covered(disc), (Pixels{{5, 5}, {4, 5}, {6, 5}, {5, 4}, {5, 6}}));
  EXPECT_EQ(covered(disc), covered_everywhere(disc));
}

TEST(SynthPaint, EllipseIsStretchedAlongItsLongAxis) {
  const Shape e = Shape::ellipse({pixel_centre(8), pixel_centre(8)}, 48, 16);  // 3 px × 1 px
  EXPECT_EQ(covered(e),
            (Pixels{{5, 8}, {6, 8}, {7, 8}, {8, 8}, {9, 8}, {10, 8}, {11, 8}, {8, 7}, {8, 9}}));
}

TEST(SynthPaint, CapsuleIsALineWithRoundCaps) {
  const SubPt a{pixel_centre(2), pixel_centre(5)}, b{pixel_centre(8), pixel_centre(5)};
  // Half a pixel wide: exactly row 5 from x = 2 to 8.
  Pixels row;
  for (int x = 2; x <= 8; ++x)
    row.insert({x, 5});
  EXPECT_EQ(covered(Shape::capsule(a, b, 8)), row);
  // One pixel radius: rows 4..6 over x = 2..8 plus the two cap tips (1, 5) and (9, 5).
  const Pixels wide = covered(Shape::capsule(a, b, 16));
  EXPECT_EQ(wide.size(), 7u * 3 + 2);
  EXPECT_TRUE(wide.count({1, 5}) && wide.count({9, 5}));
  EXPECT_FALSE(wide.count({1, 4}));
  // A diagonal capsule equals its brute-force set (bounds() misses nothing).
  const Shape diag =
      Shape::capsule({pixel_centre(1), pixel_centre(2)}, {pixel_centre(12), pixel_centre(9)}, 13);
  EXPECT_EQ(covered(diag), covered_everywhere(diag));
  EXPECT_GT(covered(diag).size(), 12u);
}

TEST(SynthPaint, ConvexPolygonDoesNotDependOnWinding) {
  const SubPt p0{pixel_centre(1), pixel_centre(1)}, p1{pixel_centre(10), pixel_centre(1)},
      p2{pixel_centre(1), pixel_centre(10)};
  const Pixels cw = covered(Shape::convex({p0, p1, p2}));
  EXPECT_EQ(cw, covered(Shape::convex({p0, p2, p1})));
  // A right triangle with legs of 10 pixel centres: 10 + 9 + ... + 1 = 55 pixels (edges inside).
  EXPECT_EQ(cw.size(), 55u);
  EXPECT_EQ(covered(Shape::box(pixel_centre(2), pixel_centre(3), pixel_centre(4), pixel_centre(7)))
                .size(),
            3u * 5);
  test::expect_error([&] { Shape::convex({p0, p1}); }, {"2 vertices"});
}

TEST(SynthPaint, RingExcludesItsInside) {
  EXPECT_EQ(covered(Shape::ring({pixel_centre(5), pixel_centre(5)}, 16, 0)),
            (Pixels{{4, 5}, {6, 5}, {5, 4}, {5, 6}}));
  test::expect_error([] { Shape::ring({0, 0}, 8, 8); }, {"Shape::ring"});
}

TEST(SynthPaint, FuzzyAlphaIsAtLeastHalfExactlyOnTheRegion) {
  for (int softness : {1, 37, 90, 160}) {
    for (int64_t g = 0; g <= 800; ++g) {
      const int a = fuzzy_alpha(g, softness);
      ASSERT_GE(a, 0);
      ASSERT_LE(a, 255);
      ASSERT_EQ(a >= 128, g <= 256) << "g " << g << " softness " << softness;
      if (g > 0) {
        ASSERT_LE(a, fuzzy_alpha(g - 1, softness));  // falls monotonically outwards
      }
    }
  }
  EXPECT_EQ(fuzzy_alpha(256, 90), 128);
  EXPECT_EQ(fuzzy_alpha(0, 90), 255);
  EXPECT_EQ(fuzzy_alpha(256 + 90, 90), 0);
}

TEST(SynthPaint, FuzzyBlobRegionIsAlphaAtLeastHalfAndHasASoftRim) {
  ObjectRaster r(32, 32);
  FuzzyBlob blob;
  blob.centre = {pixel_centre(16), pixel_centre(16)};
  blob.rx = 10 * kSubPixel;
  blob.ry = 7 * kSubPixel;
  blob.salt = 7;
  Material m;
  r.paint_fuzzy(blob, m);
  size_t soft_outside = 0, soft_inside = 0;
  for (size_t i = 0; i < 32u * 32; ++i) {
    ASSERT_EQ(r.region(i), r.alpha(i) >= 128);
    soft_outside += r.alpha(i) > 0 && r.alpha(i) < 128;
    soft_inside += r.alpha(i) >= 128 && r.alpha(i) < 255;
  }
  EXPECT_GT(soft_outside, 20u);  // a halo in the image that the ground truth leaves out
  EXPECT_GT(soft_inside, 20u);
  // Roughly the ellipse's area π·10·7 ≈ 220 (the noisy outline moves it a little).
  EXPECT_NEAR(static_cast<double>(r.region_pixels()), 220.0, 60.0);
}

TEST(SynthPaint, LaterPartsCoverEarlierOnesWithinAnObject) {
  ObjectRaster r(16, 16);
  Material red, blue;
  red.rgb = {200, 0, 0};
  red.grain = 0;
  blue.rgb = {0, 0, 200};
  blue.grain = 0;
  r.paint(Shape::box(pixel_centre(2), pixel_centre(2), pixel_centre(9), pixel_centre(9)),
          red,
          /*part=*/true);
  r.paint(Shape::box(pixel_centre(5), pixel_centre(5), pixel_centre(12), pixel_centre(12)), blue);
  const size_t under = 3 * 16 + 3, over = 6 * 16 + 6;
  EXPECT_TRUE(r.part(under));
  EXPECT_EQ(r.rgb(under)[0], 200);
  EXPECT_FALSE(r.part(over));  // the blue box hid the part there
  EXPECT_EQ(r.rgb(over)[2], 200);
  EXPECT_EQ(r.region_pixels(), 64u + 64u - 25u);  // two 8x8 boxes sharing 5x5
  EXPECT_EQ(r.touched().x0, 2);
  EXPECT_EQ(r.touched().x1, 13);
}

TEST(SynthPaint, ValueNoiseIsSmoothAndInRange) {
  for (int cell : {1, 3, 8}) {
    for (int y = 0; y < 40; ++y) {
      for (int x = 0; x < 40; ++x) {
        const int v = value_noise(x, y, cell, 99);
        ASSERT_GE(v, 0);
        ASSERT_LE(v, 255);
        if (cell > 1) {
          ASSERT_LE(std::abs(v - value_noise(x + 1, y, cell, 99)), 255 / cell + 1);
        }
      }
    }
  }
  EXPECT_NE(value_noise(3, 4, 8, 1), value_noise(3, 4, 8, 2));  // the salt matters
  EXPECT_EQ(value_noise(-5, 2, 4, 3), value_noise(-5, 2, 4, 3));
}

}  // namespace
}  // namespace pm
