// SPDX-License-Identifier: MIT
// The value checks shared by every reader of a kind of input: CAMs finite, probabilities in
// [0, 1].
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <vector>

#include "../support/expect_error.h"
#include "pseudomask/core/common/value_checks.h"

namespace pm {
namespace {

TEST(CheckFinite, RefusesNanAndInfinityNamingTheFileAndMember) {
  EXPECT_NO_THROW(check_finite(Planes(1, 1, 3, std::vector<float>{0, 1, -3}), "a", "cam"));
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const float inf = std::numeric_limits<float>::infinity();
  test::expect_error(
      [&] { check_finite(Planes(1, 2, 2, std::vector<float>(4, nan)), "a.npy", "high_res"); },
      {"a.npy: high_res holds a non-finite value (nan)"});
  test::expect_error(
      [&] {
        check_finite(Planes(1, 1, 2, std::vector<float>{0, -inf}), "a.npy", "cam");
      },
      {"a.npy: cam holds a non-finite value (-inf)"});
}

TEST(CheckProbabilities, ZeroToOneWithFloat16Slack) {
  EXPECT_NO_THROW(
      check_probabilities(Planes(2, 1, 2, std::vector<float>{0, 1.0009f, 0.5f, 0.25f}), "p"));
  for (const float bad : {-0.001f, 1.01f, std::numeric_limits<float>::infinity()}) {
    test::expect_error(
        [&] {
          check_probabilities(Planes(2, 1, 2, std::vector<float>{0.5f, 0.5f, 0.5f, bad}), "p.npy");
        },
        {"p.npy: value", "at class 1, pixel (x=1, y=0) is outside [0, 1]"});
  }
}

}  // namespace
}  // namespace pm
