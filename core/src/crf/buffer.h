// SPDX-License-Identifier: MIT
#pragma once
// Growing the CRF's reusable work buffers.

#include <cstddef>
#include <vector>

namespace pm::detail {

/// Grows `buffer` to at least `size` values, dropping what it held (its users rewrite every value
/// they read): the old block is released before the new one is taken, so that growing never holds
/// both, and a buffer never shrinks, so that reuse allocates nothing.
inline void grow_discarding(std::vector<float>& buffer, size_t size) {
  if (buffer.size() >= size)
    return;
  std::vector<float>().swap(buffer);
  buffer.resize(size);
}

}  // namespace pm::detail
