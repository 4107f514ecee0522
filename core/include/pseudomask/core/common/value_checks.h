// SPDX-License-Identifier: MIT
#pragma once

#include <cstddef>
#include <string>

#include "pseudomask/core/common/planes.h"

namespace pm {

// The checks of the values of each kind of input, shared by every command that reads that kind,
// so that no command accepts what another refuses: CAMs are finite, probability maps are
// probabilities.

/// Float16 rounds a probability just below 1 to at most 1 + 2^-10; check_probabilities allows
/// that much above 1.
constexpr float kProbabilitySlack = 1e-3f;

/// Throws "<name>: <what> holds a non-finite value (v)" at the first NaN or infinity of `values`
/// (empty planes pass).
void check_finite(const Planes& values, const std::string& name, const char* what);

/// Checks that planes are probabilities: no NaN, every value in [0, 1] (1 +
/// kProbabilitySlack allowed for float16 rounding). Throws "<name>: value v at class c, pixel
/// (x, y) is outside [0, 1] ..." so that logits read as probabilities are caught.
void check_probabilities(const Planes& probs, const std::string& name);

}  // namespace pm
