// SPDX-License-Identifier: MIT
#pragma once

// Byte-level access to zip archives in tests: little-endian fields and record signatures.

#include <gtest/gtest.h>

#include <cstddef>
#include <cstdint>
#include <vector>

namespace pm::test {

inline constexpr uint32_t kCentralSig = 0x02014b50;
inline constexpr uint32_t kZip64LocatorSig = 0x07064b50;

inline uint32_t rd32(const std::vector<uint8_t>& b, size_t pos) {
  return b[pos] | b[pos + 1] << 8 | b[pos + 2] << 16 | static_cast<uint32_t>(b[pos + 3]) << 24;
}

inline void put32(std::vector<uint8_t>& b, size_t pos, uint32_t v) {
  for (int i = 0; i < 4; ++i)
    b[pos + i] = static_cast<uint8_t>(v >> (8 * i));
}

/// Offset of the n-th occurrence of a 4-byte little-endian signature.
inline size_t find_signature(const std::vector<uint8_t>& b, uint32_t sig, int nth = 0) {
  for (size_t pos = 0; pos + 4 <= b.size(); ++pos) {
    if (rd32(b, pos) == sig && nth-- == 0)
      return pos;
  }
  ADD_FAILURE() << "signature not found";
  return 0;
}

}  // namespace pm::test
