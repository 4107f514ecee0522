// SPDX-License-Identifier: MIT
#include "pseudomask/core/eval/average_precision.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

#include "pseudomask/core/common/error.h"

namespace pm {

double average_precision(const std::vector<float>& scores, const std::vector<uint8_t>& targets) {
  PM_CHECK(scores.size() == targets.size(),
           "average_precision: {} scores but {} targets",
           scores.size(),
           targets.size());
  const size_t positives = static_cast<size_t>(
      std::count_if(targets.begin(), targets.end(), [](uint8_t t) { return t != 0; }));
  if (positives == 0)
    return std::numeric_limits<double>::quiet_NaN();
  std::vector<size_t> order(scores.size());
  std::iota(order.begin(), order.end(), size_t{0});
  std::stable_sort(
      order.begin(), order.end(), [&](size_t a, size_t b) { return scores[a] > scores[b]; });
  double ap = 0, previous_recall = 0;
  size_t tp = 0, seen = 0;
  for (size_t i = 0; i < order.size(); ++i) {
    tp += targets[order[i]] != 0;
    ++seen;
    const bool step_ends = i + 1 == order.size() || scores[order[i + 1]] != scores[order[i]];
    if (!step_ends)
      continue;
    const double recall = static_cast<double>(tp) / static_cast<double>(positives);
    ap += (recall - previous_recall) * static_cast<double>(tp) / static_cast<double>(seen);
    previous_recall = recall;
  }
  return ap;
}

MeanAveragePrecision mean_average_precision(const std::vector<float>& scores,
                                            const std::vector<uint8_t>& targets,
                                            int classes) {
  PM_CHECK(classes > 0 && scores.size() == targets.size() &&
               scores.size() % static_cast<size_t>(classes) == 0,
           "mean_average_precision: {} scores, {} targets for {} classes",
           scores.size(),
           targets.size(),
           classes);
  const size_t k = static_cast<size_t>(classes), n = scores.size() / k;
  MeanAveragePrecision out;
  double sum = 0;
  int counted = 0;
  for (size_t c = 0; c < k; ++c) {
    std::vector<float> s(n);
    std::vector<uint8_t> t(n);
    for (size_t i = 0; i < n; ++i) {
      s[i] = scores[i * k + c];
      t[i] = targets[i * k + c];
    }
    out.per_class.push_back(average_precision(s, t));
    if (!std::isnan(out.per_class.back())) {
      sum += out.per_class.back();
      ++counted;
    }
  }
  out.mean = counted ? sum / counted : std::numeric_limits<double>::quiet_NaN();
  return out;
}

}  // namespace pm
