// SPDX-License-Identifier: MIT
#pragma once

#include <cstdint>
#include <vector>

namespace pm {

/// Average precision of one class from scores and 0/1 targets, as scikit-learn's
/// average_precision_score computes it: over the distinct scores in descending order,
/// AP = sum_n (R_n - R_{n-1}) P_n (equal scores form one step, no interpolation). NaN when no
/// target is positive. Sizes must match.
double average_precision(const std::vector<float>& scores, const std::vector<uint8_t>& targets);

/// Per-class average precision of a multi-label classifier and its mean.
struct MeanAveragePrecision {
  std::vector<double> per_class;  ///< NaN for a class with no positive image
  double mean = 0;                ///< over the classes with a positive image (NaN if none)
};

/// mAP of (N, K) row-major scores (logits or probabilities: only their order counts) against
/// (N, K) 0/1 targets.
MeanAveragePrecision mean_average_precision(const std::vector<float>& scores,
                                            const std::vector<uint8_t>& targets,
                                            int classes);

}  // namespace pm
