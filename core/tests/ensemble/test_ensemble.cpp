// SPDX-License-Identifier: MIT
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "../support/expect_error.h"
#include "../support/test_paths.h"
#include "pseudomask/core/cam/cam_file.h"
#include "pseudomask/core/ensemble/ensemble.h"

namespace pm {
namespace {

Planes planes(std::vector<float> v, int k, int h, int w) {
  return Planes(k, h, w, std::move(v));
}

std::vector<float> values(const Planes& a) {
  return a.values();
}

void expect_near_all(const std::vector<float>& got, const std::vector<float>& want) {
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < got.size(); ++i)
    EXPECT_NEAR(got[i], want[i], 1e-6f) << "element " << i;
}

// Two classes, two pixels: class 0 active, class 1 absent in both CAMs.
const Planes kA = planes({0.5f, 0.2f, 0.0f, 0.0f}, 2, 1, 2);
const Planes kB = planes({0.4f, 0.5f, 0.0f, 0.0f}, 2, 1, 2);

EnsembleOptions with_mode(EnsembleMode mode, bool official = false) {
  EnsembleOptions o;
  o.mode = mode;
  o.official = official;
  return o;
}

TEST(EnsembleOps, OrIsNormalisedByClassMax) {
  // raw OR: 0.5+0.4−0.2 = 0.7 and 0.2+0.5−0.1 = 0.6; divided by 0.7. Class 1 stays 0, not NaN.
  expect_near_all(values(combine_cams(kA, kB, with_mode(EnsembleMode::kOr))),
                  {1.0f, 0.6f / 0.7f, 0.0f, 0.0f});
}

TEST(EnsembleOps, AndIsNormalisedByClassMax) {
  // raw AND: 0.2 and 0.1; divided by 0.2.
  expect_near_all(values(combine_cams(kA, kB, with_mode(EnsembleMode::kAnd))),
                  {1.0f, 0.5f, 0.0f, 0.0f});
}

TEST(EnsembleOps, MeanIsNormalisedByClassMax) {
  // raw mean: 0.45 and 0.35; divided by 0.45.
  expect_near_all(values(combine_cams(kA, kB, with_mode(EnsembleMode::kMean))),
                  {1.0f, 0.35f / 0.45f, 0.0f, 0.0f});
}

TEST(EnsembleOps, OfficialOrShiftsTheSecondCamAndDoesNotNormalise) {
  // b + 0.15 = 0.55, 0.65, 0.15, 0.15; OR = 0.5+0.55−0.275, 0.2+0.65−0.13, 0.15, 0.15.
  expect_near_all(values(combine_cams(kA, kB, with_mode(EnsembleMode::kOr, true))),
                  {0.775f, 0.72f, 0.15f, 0.15f});
}

TEST(EnsembleOps, OfficialAndShiftsTheSecondCamAndDoesNotNormalise) {
  expect_near_all(values(combine_cams(kA, kB, with_mode(EnsembleMode::kAnd, true))),
                  {0.275f, 0.13f, 0.0f, 0.0f});
}

TEST(EnsembleOps, OfficialMeanIsSimpleAdditionWithReluAndEpsilon) {
  // module/simple_addition.py: ReLU((a + b + 0.15)/2) / (max + 1e-5).
  const Planes a = planes({0.5f, 0.2f, -1.0f, 0.0f}, 2, 1, 2);
  const Planes b = planes({0.4f, 0.5f, 0.0f, 0.0f}, 2, 1, 2);
  expect_near_all(values(combine_cams(a, b, with_mode(EnsembleMode::kMean, true))),
                  {0.525f / 0.52501f, 0.425f / 0.52501f, 0.0f, 0.075f / 0.07501f});
}

TEST(EnsembleOps, AllZeroClassesStayZeroNotNan) {
  const Planes zero = planes({0, 0, 0, 0}, 1, 2, 2);
  for (EnsembleMode mode : {EnsembleMode::kOr, EnsembleMode::kAnd, EnsembleMode::kMean}) {
    for (float v : values(combine_cams(zero, zero, with_mode(mode))))
      EXPECT_EQ(v, 0.0f) << ensemble_mode_name(mode);
  }
  Planes negative = planes({-1, -2, 0, -3}, 1, 2, 2);
  normalize_by_class_max(negative);
  expect_near_all(values(negative), {-1, -2, 0, -3});
}

TEST(EnsembleOps, OrAndIdentityAndBoundsOnRandomCams) {
  // For p, q in [0, 1]: OR + AND = p + q, max(p, q) <= OR <= 1 and AND <= min(p, q).
  std::mt19937 rng(7);
  std::uniform_real_distribution<float> u(0.0f, 1.0f);
  for (int trial = 0; trial < 5; ++trial) {
    const int k = 1 + trial % 3, h = 3 + trial, w = 5;
    std::vector<float> va(static_cast<size_t>(k) * h * w), vb(va.size());
    for (size_t i = 0; i < va.size(); ++i) {
      va[i] = u(rng);
      vb[i] = u(rng);
    }
    const auto o = values(probabilistic_or(planes(va, k, h, w), planes(vb, k, h, w)));
    const auto n = values(probabilistic_and(planes(va, k, h, w), planes(vb, k, h, w)));
    for (size_t i = 0; i < va.size(); ++i) {
      EXPECT_NEAR(o[i] + n[i], va[i] + vb[i], 1e-6f);
      EXPECT_GE(o[i], std::max(va[i], vb[i]) - 1e-6f);
      EXPECT_LE(o[i], 1.0f + 1e-6f);
      EXPECT_LE(n[i], std::min(va[i], vb[i]) + 1e-6f);
    }
  }
}

TEST(EnsembleOps, ShapeMismatchIsAnError) {
  test::expect_error(
      [] {
        probabilistic_or(kA, planes({1, 2}, 1, 1, 2));
      },
      {"probabilistic OR", "(2, 1, 2)", "(1, 1, 2)"});
  EXPECT_STREQ(ensemble_mode_name(EnsembleMode::kOr), "or");
  EXPECT_STREQ(low_res_policy_name(LowResPolicy::kNone), "none");
}

CamFile cam_file(std::vector<int> keys, Planes high_res, Planes cam = {}) {
  CamFile f;
  f.keys = std::move(keys);
  f.high_res = std::move(high_res);
  f.cam = std::move(cam);
  return f;
}

TEST(EnsembleCams, ChannelsAreMatchedByKeys) {
  // b lists class 14 first: its channels must be swapped before combining.
  const CamFile a = cam_file({0, 14}, planes({0.5f, 0.2f, 0.8f, 0.4f}, 2, 1, 2));
  const CamFile b = cam_file({14, 0}, planes({0.5f, 1.0f, 1.0f, 0.5f}, 2, 1, 2));
  const CamFile r = ensemble_cams(a, b, with_mode(EnsembleMode::kAnd), "a.npy", "b.npy");
  EXPECT_EQ(r.keys, (std::vector<int>{0, 14}));
  // class 0: 0.5·1, 0.2·0.5 → /0.5; class 14: 0.8·0.5, 0.4·1 → /0.4.
  expect_near_all(values(r.high_res), {1.0f, 0.2f, 1.0f, 1.0f});
  EXPECT_TRUE(r.cam.empty());
}

TEST(EnsembleCams, MismatchedKeysNameBothFiles) {
  const CamFile a = cam_file({0, 14}, planes({0, 0, 0, 0}, 2, 1, 2));
  const CamFile b = cam_file({0, 11}, planes({0, 0, 0, 0}, 2, 1, 2));
  test::expect_error([&] { ensemble_cams(a, b, {}, "r/x.npy", "v/x.npy"); },
                     {"v/x.npy: keys [0 11] do not match the keys [0 14] of r/x.npy"});
  const CamFile c = cam_file({0}, planes({0, 0}, 1, 1, 2));
  test::expect_error([&] { ensemble_cams(a, c, {}, "r/x.npy", "v/x.npy"); },
                     {"v/x.npy", "[0]", "[0 14]"});
}

TEST(EnsembleCams, SecondCamIsResizedBilinearlyToTheFirst) {
  // b is 2×2 with columns 0 and 1; upsampled to 4 wide (half-pixel centres, clamped edges)
  // each row reads 0, 0.25, 0.75, 1. AND with all-ones keeps it (its max is already 1).
  const CamFile a = cam_file({3}, planes(std::vector<float>(16, 1.0f), 1, 4, 4));
  const CamFile b = cam_file({3}, planes({0, 1, 0, 1}, 1, 2, 2));
  bool resized = false;
  const CamFile r = ensemble_cams(a, b, with_mode(EnsembleMode::kAnd), "a", "b", &resized);
  EXPECT_TRUE(resized);
  ASSERT_EQ(r.high_res.describe(), "(1, 4, 4)");
  std::vector<float> want;
  for (int y = 0; y < 4; ++y)
    want.insert(want.end(), {0.0f, 0.25f, 0.75f, 1.0f});
  expect_near_all(values(r.high_res), want);
  ensemble_cams(a, a, {}, "a", "a", &resized);
  EXPECT_FALSE(resized);
}

TEST(EnsembleCams, LowResMemberFollowsThePolicy) {
  const Planes hr = planes(std::vector<float>(1 * 5 * 9, 0.5f), 1, 5, 9);
  const Planes lr = planes({0.5f, 0.5f, 0.5f, 0.25f, 0.5f, 0.5f}, 1, 2, 3);
  const CamFile a = cam_file({2}, hr, lr);
  EnsembleOptions o = with_mode(EnsembleMode::kAnd);
  // combine: the cams' own AND (0.25, …, 0.0625), normalised by its max 0.25.
  CamFile r = ensemble_cams(a, a, o, "a", "a");
  expect_near_all(values(r.cam), {1, 1, 1, 0.25f, 1, 1});
  // downsample: (H−1)/4+1 × (W−1)/4+1 = 2 × 3 from the combined high_res (all ones).
  o.low_res = LowResPolicy::kDownsample;
  r = ensemble_cams(a, a, o, "a", "a");
  ASSERT_EQ(r.cam.describe(), "(1, 2, 3)");
  expect_near_all(values(r.cam), std::vector<float>(6, 1.0f));
  o.low_res = LowResPolicy::kNone;
  EXPECT_TRUE(ensemble_cams(a, a, o, "a", "a").cam.empty());
  // combine with only one input holding a cam: omitted, not invented.
  o.low_res = LowResPolicy::kCombine;
  EXPECT_TRUE(ensemble_cams(a, cam_file({2}, hr), o, "a", "b").cam.empty());
}

TEST(EnsembleCams, MissingMembersAndBadValuesAreErrors) {
  const Planes hr = planes({0.5f, 0.5f}, 1, 1, 2);
  test::expect_error([&] { ensemble_cams(cam_file({1}, hr), cam_file({1}, {}, hr), {}, "a", "b"); },
                     {"b: has no high_res, but a has one"});
  test::expect_error([&] { ensemble_cams(cam_file({1}, {}, hr), cam_file({1}, {}), {}, "a", "b"); },
                     {"a: nothing to combine with b"});
  const Planes nan = planes({0.5f, std::nanf("")}, 1, 1, 2);
  test::expect_error([&] { ensemble_cams(cam_file({1}, hr), cam_file({1}, nan), {}, "a", "b"); },
                     {"b: high_res holds a non-finite value"});
  test::expect_error(
      [&] {
        ensemble_cams(cam_file({1, 2}, hr), cam_file({1}, hr), {}, "a", "b");
      },
      {"a: high_res is (1, 1, 2), expected (2, H, W)"});
}

TEST(EnsembleCams, RoundTripsThroughIrnFiles) {
  // The written file reads back with the same keys and values (what the CLI relies on).
  test::TempDir dir("ensemble");
  const CamFile a = cam_file({0, 14}, kA, planes({0.5f, 0.2f}, 2, 1, 1));
  const CamFile b = cam_file({0, 14}, kB, planes({0.4f, 0.0f}, 2, 1, 1));
  const CamFile r = ensemble_cams(a, b, with_mode(EnsembleMode::kOr), "a", "b");
  write_cam_file(dir / "r.npy", r);
  const CamFile back = read_cam_file(dir / "r.npy");
  EXPECT_EQ(back.keys, r.keys);
  expect_near_all(values(back.high_res), {1.0f, 0.6f / 0.7f, 0.0f, 0.0f});
  expect_near_all(values(back.cam), {1.0f, 1.0f});  // 0.7/0.7 and 0.2/0.2
}

}  // namespace
}  // namespace pm
