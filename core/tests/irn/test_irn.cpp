// SPDX-License-Identifier: MIT
// IRN's path index, affinity labels, boundary affinities and random walk against
// tests/fixtures/irn/irn_reference.npz (make_irn_fixtures.py: the public code's dense formulation
// with padded index arrays and repeated squaring, in numpy/torch).
#include <gtest/gtest.h>

#include <cmath>
#include <map>

#include "../support/expect_error.h"
#include "../support/test_paths.h"
#include "pseudomask/core/io/numpy/npy.h"
#include "pseudomask/core/io/numpy/npz.h"
#include "pseudomask/core/irn/path_index.h"
#include "pseudomask/core/irn/random_walk.h"

namespace pm {
namespace {

const std::map<std::string, NDArray>& reference() {
  static const std::map<std::string, NDArray> arrays =
      read_npz(test::fixture("irn/irn_reference.npz"));
  return arrays;
}

template <typename T>
std::vector<T> values(const std::string& name) {
  const NDArray& a = reference().at(name);
  return std::vector<T>(a.data<T>(), a.data<T>() + a.numel());
}

class IrnPathIndex : public ::testing::TestWithParam<int> {};

// Directions, their order (by path length, then search order) and every path pixel, as IRN's
// PathIndex lays them out: per-pair arrays of a network trained with IRN line up with ours.
TEST_P(IrnPathIndex, DirectionsAndPathsAreIrns) {
  const std::string tag = "r" + std::to_string(GetParam());
  const NDArray& labels = reference().at(tag + "_labels");
  const PathIndex index(
      GetParam(), static_cast<int>(labels.dim(0)), static_cast<int>(labels.dim(1)));
  const std::vector<int32_t> dirs = values<int32_t>(tag + "_dirs");
  const std::vector<int32_t> lengths = values<int32_t>(tag + "_path_len");
  const std::vector<int32_t> paths = values<int32_t>(tag + "_paths");
  ASSERT_EQ(index.directions.size() * 2, dirs.size());
  size_t p = 0;
  for (size_t d = 0; d < index.directions.size(); ++d) {
    const PathDirection& dir = index.directions[d];
    EXPECT_EQ(dir.dy, dirs[2 * d]);
    EXPECT_EQ(dir.dx, dirs[2 * d + 1]);
    ASSERT_EQ(static_cast<int32_t>(dir.path.size()), lengths[d]) << "direction " << d;
    for (const auto& [y, x] : dir.path) {
      EXPECT_EQ(y, paths[2 * p]) << "direction " << d;
      EXPECT_EQ(x, paths[2 * p + 1]) << "direction " << d;
      ++p;
    }
  }
  EXPECT_EQ(index.sources, values<int32_t>(tag + "_src"));
  const std::vector<int32_t> dst = values<int32_t>(tag + "_dst");
  for (size_t d = 0; d < index.directions.size(); ++d) {
    for (size_t s = 0; s < index.num_sources(); ++s)
      ASSERT_EQ(index.destination(d, s), dst[d * index.num_sources() + s]);
  }
}

// IRN's three pair sets from a label map with unsure (255) pixels, exactly.
TEST_P(IrnPathIndex, AffinityLabelsAreIrns) {
  const std::string tag = "r" + std::to_string(GetParam());
  const NDArray& labels = reference().at(tag + "_labels");
  const PathIndex index(
      GetParam(), static_cast<int>(labels.dim(0)), static_cast<int>(labels.dim(1)));
  const AffinityLabels a = affinity_labels(values<uint8_t>(tag + "_labels"), index);
  EXPECT_EQ(a.bg_pos, values<uint8_t>(tag + "_bg_pos"));
  EXPECT_EQ(a.fg_pos, values<uint8_t>(tag + "_fg_pos"));
  EXPECT_EQ(a.neg, values<uint8_t>(tag + "_neg"));
  size_t fg = 0, neg = 0;
  for (size_t i = 0; i < a.neg.size(); ++i) {
    fg += a.fg_pos[i];
    neg += a.neg[i];
    EXPECT_LE(a.bg_pos[i] + a.fg_pos[i] + a.neg[i], 1) << "pair " << i;
  }
  EXPECT_GT(fg, 0u);
  EXPECT_GT(neg, 0u);
}

// IRN Eq. 5 (1 − the boundary's maximum along each path), exactly.
TEST_P(IrnPathIndex, EdgeAffinitiesAreIrns) {
  const std::string tag = "r" + std::to_string(GetParam());
  const NDArray& edge = reference().at(tag + "_edge");
  const PathIndex index(GetParam(), static_cast<int>(edge.dim(0)), static_cast<int>(edge.dim(1)));
  EXPECT_EQ(edge_to_affinity(values<float>(tag + "_edge"), index),
            values<float>(tag + "_affinity"));
}

INSTANTIATE_TEST_SUITE_P(Radii, IrnPathIndex, ::testing::Values(5, 10));

Planes planes_of(const std::string& name) {
  const NDArray& a = reference().at(name);
  return Planes(static_cast<int>(a.dim(0)),
                static_cast<int>(a.dim(1)),
                static_cast<int>(a.dim(2)),
                values<float>(name));
}

// The sparse walk (2^8 steps) equals the public code's dense T^(2^8) by repeated squaring.
TEST(IrnRandomWalk, EqualsTheDenseRepeatedSquaring) {
  const Planes cams = planes_of("walk_cams");
  const Planes expected = planes_of("walk_out");
  const Planes walked = random_walk(cams, values<float>("walk_edge"), RandomWalkOptions{});
  ASSERT_EQ(walked.channels(), 3);
  float largest = 0.0f;
  for (size_t i = 0; i < walked.size(); ++i) {
    EXPECT_NEAR(walked.values()[i], expected.values()[i], 1e-5f) << "value " << i;
    largest = std::max(largest, expected.values()[i]);
  }
  EXPECT_GT(largest, 0.1f);
}

// IRN's labels: ×4 bilinear, crop, global max, background plane 0.25, keys + 1.
TEST(IrnRandomWalk, WalkLabelsAreIrns) {
  const LabelMap labels = walk_labels(planes_of("walk_out"), {2, 7, 14}, 33, 41, 0.25f);
  EXPECT_EQ(labels.width, 41);
  EXPECT_EQ(labels.labels, values<uint8_t>("walk_labels"));
}

// The walk stays behind a boundary: activation starting left of a full-height wall never crosses
// it, and spreads on its own side.
TEST(IrnRandomWalk, StopsAtABoundary) {
  const int h = 6, w = 12;
  std::vector<float> edge(static_cast<size_t>(h) * w, 0.0f);
  for (int y = 0; y < h; ++y)
    edge[static_cast<size_t>(y) * w + 6] = 1.0f;
  Planes cam(1, h, w);
  cam.at(0, 2, 1) = 1.0f;
  const Planes walked = random_walk(cam, edge, RandomWalkOptions{});
  double left = 0.0, right = 0.0;
  for (int y = 0; y < h; ++y) {
    for (int x = 0; x < w; ++x)
      (x < 6 ? left : right) += walked.at(0, y, x);
  }
  EXPECT_GT(left, 0.5);
  EXPECT_EQ(right, 0.0);
  EXPECT_GT(walked.at(0, 5, 5), 0.01f);  // and spreads through its side
}

TEST(IrnRandomWalk, RefusesBadInputs) {
  Planes cam(1, 4, 4);
  test::expect_error([&] { random_walk(cam, std::vector<float>(15, 0.0f), {}); },
                     {"boundary map of 15 values for a 4x4 map"});
  test::expect_error([&] { random_walk(cam, std::vector<float>(16, 1.5f), {}); },
                     {"boundary value 1.5 at pixel 0 is not in [0, 1]"});
  test::expect_error([&] { random_walk(cam, std::vector<float>(16, NAN), {}); }, {"not in [0, 1]"});
  RandomWalkOptions o;
  o.beta = 0;
  test::expect_error([&] { random_walk(cam, std::vector<float>(16, 0.0f), o); },
                     {"RandomWalkOptions::beta"});
  test::expect_error([&] { PathIndex(10, 9, 30); }, {"too small for radius 10"});
  test::expect_error([&] { walk_labels(cam, {1, 2}, 4, 4, 0.25f); }, {"2 keys for 1 planes"});
}

// Boundary maps from files: a PNG written by write_boundary_png reads back to its 8-bit levels; a
// .npy must have the map's size and values in [0, 1].
TEST(IrnBoundaryMap, ReadsPngAndNpyAndRefusesBadOnes) {
  const test::TempDir dir("boundary");
  const std::vector<float> b = {0.0f, 0.25f, 1.0f, 0.5f, 0.9f, 0.1f};
  write_boundary_png(dir / "b.png", b, 2, 3);
  const std::vector<float> png = read_boundary_map(dir / "b.png", 2, 3);
  for (size_t i = 0; i < b.size(); ++i)
    EXPECT_FLOAT_EQ(png[i], std::round(255.0f * b[i]) / 255.0f);
  write_npy(dir / "b.npy", NDArray::from(b, {2, 3}));
  EXPECT_EQ(read_boundary_map(dir / "b.npy", 2, 3), b);
  test::expect_error([&] { read_boundary_map(dir / "b.npy", 3, 2); },
                     {"b.npy: expected a (3, 2) boundary map"});
  test::expect_error([&] { read_boundary_map(dir / "b.png", 3, 3); },
                     {"b.png: a 3x2 boundary map, expected 3x3"});
  write_npy(dir / "high.npy", NDArray::from(std::vector<float>{0.5f, 1.5f}, {1, 2}));
  test::expect_error([&] { read_boundary_map(dir / "high.npy", 1, 2); },
                     {"high.npy: boundary value 1.5 at pixel 1 is not in [0, 1]"});
}

}  // namespace
}  // namespace pm
