// SPDX-License-Identifier: MIT
// What the permutohedral lattice can represent: build() refuses features beyond max_feature (no
// integer overflow below it, whatever the finite input), and DenseCrf2D refuses kernel widths
// whose features the lattice cannot resolve, naming the field (issue 17, item 1: `crf
// --bilateral 1e-10,13,10` used to exit 139).
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "../support/expect_error.h"
#include "pseudomask/core/common/error.h"
#include "pseudomask/core/crf/dense_crf.h"
#include "pseudomask/core/crf/lattice.h"

namespace pm {
namespace {

// Every corner id of every point names an existing vertex (1..m) and every weight is finite.
void expect_consistent(const PermutohedralLattice& lat) {
  const size_t corners = lat.num_points() * static_cast<size_t>(lat.dim() + 1);
  for (size_t i = 0; i < corners; ++i) {
    ASSERT_GE(lat.corner_offsets()[i], 1) << "corner " << i;
    ASSERT_LE(static_cast<size_t>(lat.corner_offsets()[i]), lat.num_vertices()) << "corner " << i;
    ASSERT_TRUE(std::isfinite(lat.corner_weights()[i])) << "corner " << i;
  }
}

// Points spread over ±`magnitude` in every dimension, some on the extremes.
std::vector<float> spread_features(size_t n, int d, double magnitude) {
  std::vector<float> f(n * static_cast<size_t>(d));
  uint64_t x = 12345;
  for (size_t i = 0; i < f.size(); ++i) {
    x = x * 6364136223846793005ull + 1442695040888963407ull;
    const double u = static_cast<double>(x >> 11) / 9007199254740992.0;  // [0, 1)
    f[i] = static_cast<float>((i % 7 == 0 ? (u < 0.5 ? -1.0 : 1.0) : 2.0 * u - 1.0) * magnitude);
  }
  return f;
}

TEST(LatticeLimits, FeaturesUpToTheLimitBuildAConsistentLattice) {
  for (int d : {1, 2, 3, 5, 8, 16}) {
    const double limit = PermutohedralLattice::max_feature(d);
    EXPECT_GT(limit, 1e7) << d;  // far beyond any CRF's features
    const std::vector<float> f = spread_features(400, d, limit * 0.999);
    const PermutohedralLattice lat = PermutohedralLattice::build(f.data(), 400, d);
    expect_consistent(lat);
    std::vector<float> in(400, 1.0f), out(400);
    LatticeWorkspace ws;
    lat.filter(in.data(), 1, out.data(), ws);
    for (float v : out)
      ASSERT_TRUE(std::isfinite(v));
  }
}

TEST(LatticeLimits, FeaturesBeyondTheLimitAreRefusedNamingThePoint) {
  std::vector<float> f = {0.5f, 1.0f, 2.0f, 5e12f, 3.0f};  // point 1, feature 1 of d = 2 (+ pad)
  test::expect_error([&] { PermutohedralLattice::build(f.data(), 2, 2); },
                     {"permutohedral lattice", "feature 1 of point 1", "5e+12", "finite"});
  for (float bad : {std::numeric_limits<float>::quiet_NaN(),
                    std::numeric_limits<float>::infinity(),
                    -std::numeric_limits<float>::max()}) {
    std::vector<float> g(5 * 2000, 0.25f);
    g[5 * 1500 + 4] = bad;
    test::expect_error([&] { PermutohedralLattice::build(g.data(), 2000, 5); },
                       {"feature 4 of point 1500"});
  }
}

TEST(LatticeLimits, ResolvedLimitIsBelowTheBuildLimitAndCoversLargeImages) {
  for (int d = 1; d <= 16; ++d) {
    EXPECT_LT(PermutohedralLattice::max_resolved_feature(d), PermutohedralLattice::max_feature(d));
  }
  // The URN preset's Gaussian (sxy 1) on the largest image side a PNG may have (65535 px).
  EXPECT_GT(PermutohedralLattice::max_resolved_feature(2), 65534.0);
  EXPECT_GT(PermutohedralLattice::max_resolved_feature(5), 65534.0 / 1.0);
  EXPECT_THROW(PermutohedralLattice::max_feature(0), Error);
  EXPECT_THROW(PermutohedralLattice::max_resolved_feature(17), Error);
}

RgbImage gradient_image(int w, int h) {
  RgbImage im(w, h);
  for (size_t i = 0; i < im.pixels.size(); ++i)
    im.pixels[i] = static_cast<uint8_t>((i * 37) % 256);
  return im;
}

TEST(CrfWidths, WidthsTooSmallForTheLatticeAreRefusedNamingTheField) {
  const RgbImage im = gradient_image(50, 40);
  CrfParams p = CrfParams::preset(CrfPreset::kDeepLab);
  p.terms[1].sxy = 1e-10f;  // crf --bilateral 1e-10,13,10
  test::expect_error(
      [&] { DenseCrf2D(im, p); },
      {"CrfParams::terms[1].sxy = 1e-10 is too small for a 50x40 image", "4.9e+11", "use sxy >="});
  p = CrfParams::preset(CrfPreset::kDeepLab);
  p.terms[0].sxy = 1e-30f;  // crf --gaussian 1e-30,3
  test::expect_error([&] { DenseCrf2D(im, p); }, {"CrfParams::terms[0].sxy = 1e-30 is too small"});
  p = CrfParams::preset(CrfPreset::kDeepLab);
  p.terms[1].srgb = 1e-30f;  // crf --bilateral 80,1e-30,10: refused before any image
  test::expect_error([&] { p.validate(); }, {"CrfParams::terms[1].srgb = 1e-30 is too small"});
}

TEST(CrfWidths, TheSuggestedWidthWorks) {
  const RgbImage im = gradient_image(50, 40);
  CrfParams p = CrfParams::preset(CrfPreset::kDeepLab);
  p.terms[1].sxy = 1e-4f;
  const std::string msg = test::error_of([&] { DenseCrf2D(im, p); });
  const size_t at = msg.find("use sxy >= ");
  ASSERT_NE(at, std::string::npos) << msg;
  p.terms[1].sxy = std::stof(msg.substr(at + 11));
  EXPECT_GT(p.terms[1].sxy, 1e-4f);
  EXPECT_NO_THROW(DenseCrf2D(im, p));
}

TEST(CrfWidths, TheSmallestAcceptedWidthsRun) {
  const RgbImage im = gradient_image(50, 40);
  CrfParams p = CrfParams::preset(CrfPreset::kDeepLab);
  p.terms[0].sxy = static_cast<float>(49.0 / PermutohedralLattice::max_resolved_feature(2) * 1.01);
  p.terms[1].sxy = static_cast<float>(49.0 / PermutohedralLattice::max_resolved_feature(5) * 1.01);
  p.terms[1].srgb =
      static_cast<float>(255.0 / PermutohedralLattice::max_resolved_feature(5) * 1.01);
  const DenseCrf2D crf(im, p);
  Unary u(2, im.height, im.width, 1.0f);
  for (size_t i = 0; i < im.num_pixels(); i += 3)
    u.data()[i] = 0.5f;
  const CrfResult r = crf.infer(u);
  for (float q : r.q.values())
    ASSERT_TRUE(std::isfinite(q));
}

}  // namespace
}  // namespace pm
