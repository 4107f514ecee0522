// SPDX-License-Identifier: MIT
// The batched torch walk against core's random_walk (the CPU implementation it must equal).
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "pseudomask/core/common/error.h"
#include "pseudomask/nn/irn/walk.h"

namespace pm::nn {
namespace {

struct Case {
  Planes cams;
  std::vector<float> boundary;
};

// CAMs with a blob per plane and a boundary map with a wall at column `wall` plus noise.
Case make_case(int k, int h, int w, int wall, unsigned seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> u(0.0f, 1.0f);
  Case c{Planes(k, h, w), std::vector<float>(static_cast<size_t>(h) * w)};
  for (int y = 0; y < h; ++y) {
    for (int x = 0; x < w; ++x) {
      c.boundary[static_cast<size_t>(y) * w + x] = x == wall ? 0.9f : 0.2f * u(rng);
      for (int p = 0; p < k; ++p)
        c.cams.at(p, y, x) = (x % (p + 2) == 0 && y > h / 3) ? u(rng) : 0.1f * u(rng);
    }
  }
  return c;
}

float max_abs(const Planes& p) {
  float m = 0.0f;
  for (float v : p.values())
    m = std::max(m, std::abs(v));
  return m;
}

TEST(RandomWalkBatch, EqualsCoresWalkForImagesOfDifferentSizesAndPlaneCounts) {
  RandomWalkOptions o;  // IRN's: radius 5, beta 10, 2^8 steps
  const std::vector<Case> cases = {
      make_case(2, 13, 17, 8, 1), make_case(3, 9, 21, 5, 2), make_case(1, 16, 11, 3, 3)};
  std::vector<WalkImage> batch;
  for (const Case& c : cases)
    batch.push_back({&c.cams, &c.boundary});
  const std::vector<Planes> walked = random_walk_batch(batch, o, torch::kCPU);
  ASSERT_EQ(walked.size(), cases.size());
  for (size_t i = 0; i < cases.size(); ++i) {
    const Planes expected = random_walk(cases[i].cams, cases[i].boundary, o);
    ASSERT_EQ(walked[i].channels(), expected.channels());
    ASSERT_EQ(walked[i].height(), expected.height());
    ASSERT_EQ(walked[i].width(), expected.width());
    const float scale = max_abs(expected);
    ASSERT_GT(scale, 0.0f);
    for (size_t v = 0; v < expected.size(); ++v)
      ASSERT_NEAR(walked[i].values()[v], expected.values()[v], 1e-5f * scale) << i << " " << v;
  }
}

TEST(RandomWalkBatch, AWallKeepsActivationOnItsSide) {
  // One plane active left of a full-height wall only: after the walk the right side holds far
  // less than the left (the walk stops at boundaries), and a batch of one equals core's walk.
  const int h = 12, w = 16, wall = 7;
  Case c{Planes(1, h, w), std::vector<float>(static_cast<size_t>(h) * w, 0.0f)};
  for (int y = 0; y < h; ++y) {
    c.boundary[static_cast<size_t>(y) * w + wall] = 1.0f;
    c.cams.at(0, y, 2) = 1.0f;
  }
  RandomWalkOptions o;
  o.exp_times = 6;
  const Planes out = random_walk_batch({{&c.cams, &c.boundary}}, o, torch::kCPU).at(0);
  double left = 0, right = 0;
  for (int y = 0; y < h; ++y) {
    for (int x = 0; x < w; ++x)
      (x < wall ? left : right) += out.at(0, y, x);
  }
  EXPECT_GT(left, 0.5);
  EXPECT_LT(right, 1e-6 * left);
}

TEST(RandomWalkBatch, ABadBoundaryMapIsRefusedAsCoreRefusesIt) {
  Case c = make_case(1, 8, 8, 3, 4);
  c.boundary[5] = 1.5f;
  EXPECT_THROW(random_walk_batch({{&c.cams, &c.boundary}}, RandomWalkOptions{}, torch::kCPU),
               pm::Error);
}

}  // namespace
}  // namespace pm::nn
