// SPDX-License-Identifier: MIT
#pragma once
// The slice step of the permutohedral lattice for one point, shared by the lattice's own filter
// and the CRF's fused mean-field update.

#include <cstddef>
#include <cstdint>

#include "pseudomask/core/crf/lattice.h"
#include "simd8.h"

namespace pm::detail {

/// out[c] = Σ_j (w_j·α)·v[o_j][c] or Σ_j (w_j·v[o_j][c])·α (per `order`) over a point's d+1
/// corners (offsets o_j into rows of `ch` values, weights w_j), summed in corner order with the
/// first corner initialising the row: the reference's float order. Rows whose width is a multiple
/// of kChannelBlock go in 8-lane blocks; others lane by lane (same bits either way).
PM_ALWAYS_INLINE void slice_corners(const int32_t* __restrict offsets,
                                    const float* __restrict weights,
                                    size_t d1,
                                    float alpha,
                                    const float* __restrict values,
                                    size_t ch,
                                    SliceOrder order,
                                    float* __restrict out) {
  const bool alpha_first = order == SliceOrder::kWeightTimesAlphaFirst;
  for (size_t j = 0; j < d1; ++j) {
    const float* __restrict src = values + static_cast<size_t>(offsets[j]) * ch;
    const bool first = j == 0;
    const float w = alpha_first ? weights[j] * alpha : weights[j];
    if (ch % kChannelBlock == 0) {
      for (size_t c = 0; c < ch; c += kChannelBlock) {
        const f8 term = alpha_first ? w * load8(src + c) : w * load8(src + c) * alpha;
        store8(out + c, first ? term : load8(out + c) + term);
      }
    } else {
      for (size_t c = 0; c < ch; ++c) {
        const float term = alpha_first ? w * src[c] : w * src[c] * alpha;
        out[c] = first ? term : out[c] + term;
      }
    }
  }
}

}  // namespace pm::detail
