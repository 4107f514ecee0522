// SPDX-License-Identifier: MIT
#include "pseudomask/core/common/value_checks.h"

#include <cmath>

#include "pseudomask/core/common/error.h"

namespace pm {

void check_finite(const Planes& values, const std::string& name, const char* what) {
  for (float v : values.values())
    PM_CHECK(std::isfinite(v), "{}: {} holds a non-finite value ({})", name, what, v);
}

void check_probabilities(const Planes& probs, const std::string& name) {
  const size_t n = probs.pixels();
  const size_t width = static_cast<size_t>(probs.width());
  for (size_t i = 0; i < probs.size(); ++i) {
    const float v = probs.data()[i];
    if (v >= 0.0f && v <= 1.0f + kProbabilitySlack)
      continue;
    const size_t p = i % n;
    PM_CHECK(!std::isnan(v),
             "{}: NaN at class {}, pixel (x={}, y={})",
             name,
             i / n,
             p % width,
             p / width);
    PM_FAIL(
        "{}: value {} at class {}, pixel (x={}, y={}) is outside [0, 1] (logits need a "
        "softmax first)",
        name,
        v,
        i / n,
        p % width,
        p / width);
  }
}

}  // namespace pm
