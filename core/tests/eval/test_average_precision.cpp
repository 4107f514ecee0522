// SPDX-License-Identifier: MIT
#include <gtest/gtest.h>

#include <cmath>

#include "pseudomask/core/eval/average_precision.h"

namespace pm {
namespace {

TEST(EvalAveragePrecision, EqualsScikitLearnsValues) {
  // sklearn.metrics.average_precision_score([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8]) = 0.8333...
  EXPECT_NEAR(average_precision({0.1f, 0.4f, 0.35f, 0.8f}, {0, 0, 1, 1}), 5.0 / 6.0, 1e-12);
  // Ties form one step: ([1, 0, 1], [0.5, 0.5, 0.2]) → P@0.5 = 1/2 at R = 1/2, then 2/3 at R = 1.
  EXPECT_NEAR(average_precision({0.5f, 0.5f, 0.2f}, {1, 0, 1}), 0.5 * 0.5 + 0.5 * 2.0 / 3.0, 1e-12);
  EXPECT_DOUBLE_EQ(average_precision({0.9f, 0.1f}, {1, 0}), 1.0);
  EXPECT_TRUE(std::isnan(average_precision({0.9f, 0.1f}, {0, 0})));
}

TEST(EvalAveragePrecision, MeanSkipsClassesWithoutPositivesAndSeesThroughTheAllAbsentGuess) {
  // 4 images, 3 classes; class 2 never present. Scores rank class 0 perfectly, class 1 worst.
  const std::vector<float> scores = {0.9f,
                                     0.1f,
                                     0.5f,  //
                                     0.8f,
                                     0.2f,
                                     0.5f,
                                     0.1f,
                                     0.7f,
                                     0.5f,
                                     0.2f,
                                     0.9f,
                                     0.5f};
  const std::vector<uint8_t> targets = {1,
                                        1,
                                        0,  //
                                        1,
                                        0,
                                        0,
                                        0,
                                        0,
                                        0,
                                        0,
                                        0,
                                        0};
  const MeanAveragePrecision m = mean_average_precision(scores, targets, 3);
  ASSERT_EQ(m.per_class.size(), 3u);
  EXPECT_DOUBLE_EQ(m.per_class[0], 1.0);
  EXPECT_NEAR(m.per_class[1], 0.25, 1e-12);  // the one positive ranks last of 4
  EXPECT_TRUE(std::isnan(m.per_class[2]));
  EXPECT_NEAR(m.mean, 0.625, 1e-12);
  // A constant (all-absent) guess scores every class at its positive rate, not 83 %.
  const MeanAveragePrecision flat =
      mean_average_precision(std::vector<float>(12, -1.0f), targets, 3);
  EXPECT_NEAR(flat.per_class[0], 0.5, 1e-12);
  EXPECT_NEAR(flat.per_class[1], 0.25, 1e-12);
}

}  // namespace
}  // namespace pm
