// SPDX-License-Identifier: MIT
#pragma once

#include <cstdint>
#include <cstring>

namespace pm::detail {

/// exp(x) for x ≤ 0 in float, branch-free so loops over it vectorise: Cody–Waite reduction
/// x = m·ln2 + r and the degree-6 minimax polynomial of Cephes' expf for e^r on |r| ≤ ln2/2
/// (about 1 ulp). Results below 2^-126 flush to 0, which cannot change a softmax whose largest
/// term is 1.
inline float exp_nonpositive(float x) {
  constexpr float kLog2e = 1.44269504088896341f;
  constexpr float kLn2Hi = 0.693359375f;
  constexpr float kLn2Lo = -2.12194440e-4f;
  constexpr float kMin = -87.0f;  // below this e^x < 2^-125: treated as 0
  const bool tiny = x < kMin;
  x = tiny ? kMin : x;
  const float m = static_cast<float>(static_cast<int32_t>(x * kLog2e - 0.5f));  // floor(x·log2e + 0.5) for x ≤ 0
  float r = x - m * kLn2Hi;
  r = r - m * kLn2Lo;
  const float r2 = r * r;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  const float y = p * r2 + r + 1.0f;
  const int32_t bits = (static_cast<int32_t>(m) + 127) << 23;
  float scale;
  std::memcpy(&scale, &bits, sizeof(scale));
  return tiny ? 0.0f : y * scale;
}

}  // namespace pm::detail
