// SPDX-License-Identifier: MIT
#pragma once

#include <cstdint>

namespace pm {

/// IEEE 754 binary16 bits to float (exact; handles subnormals, infinities and NaN).
float half_to_float(uint16_t h);

/// float to IEEE 754 binary16 bits, rounding to nearest even (as numpy's astype(float16)).
uint16_t float_to_half(float f);

}  // namespace pm
