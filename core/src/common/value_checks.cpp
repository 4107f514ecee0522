// SPDX-License-Identifier: MIT
#include "pseudomask/core/common/value_checks.h"

#include <cmath>

#include "pseudomask/core/common/error.h"

namespace pm {

void check_finite(const NDArray& values, const std::string& name, const char* what) {
  if (values.numel() == 0)
    return;
  PM_CHECK(values.dtype() == DType::kF32,
           "{}: {} is {}, expected float32",
           name,
           what,
           values.describe());
  const float* p = values.data<float>();
  for (int64_t i = 0; i < values.numel(); ++i)
    PM_CHECK(std::isfinite(p[i]), "{}: {} holds a non-finite value ({})", name, what, p[i]);
}

void check_probabilities(
    const float* probs, int classes, int width, int height, const std::string& name) {
  const size_t n = static_cast<size_t>(width) * height;
  for (size_t i = 0; i < static_cast<size_t>(classes) * n; ++i) {
    const float v = probs[i];
    if (v >= 0.0f && v <= 1.0f + kProbabilitySlack)
      continue;
    const size_t p = i % n;
    PM_CHECK(!std::isnan(v),
             "{}: NaN at class {}, pixel (x={}, y={})",
             name,
             i / n,
             p % static_cast<size_t>(width),
             p / static_cast<size_t>(width));
    PM_FAIL(
        "{}: value {} at class {}, pixel (x={}, y={}) is outside [0, 1] (logits need a "
        "softmax first)",
        name,
        v,
        i / n,
        p % static_cast<size_t>(width),
        p / static_cast<size_t>(width));
  }
}

}  // namespace pm
