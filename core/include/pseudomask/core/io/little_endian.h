// SPDX-License-Identifier: MIT
#pragma once

// Little-endian integers in byte buffers, as every binary format of io/ stores them (zip
// records, .npy header lengths, pickle arguments, torch storage counts).

#include <cstddef>
#include <cstdint>

namespace pm {

/// Appends the `bytes` (at most 8) low-order bytes of `value` to `out`, least significant first.
/// `Bytes` is a byte container with push_back (std::string, std::vector<uint8_t>).
template <class Bytes>
void append_le(Bytes& out, uint64_t value, int bytes) {
  for (int i = 0; i < bytes; ++i)
    out.push_back(static_cast<typename Bytes::value_type>((value >> (8 * i)) & 0xFF));
}

/// The unsigned number stored in the `bytes` (at most 8) bytes at `p`, least significant first.
inline uint64_t load_le(const uint8_t* p, int bytes) {
  uint64_t value = 0;
  for (int i = bytes - 1; i >= 0; --i)
    value = (value << 8) | p[i];
  return value;
}

}  // namespace pm
