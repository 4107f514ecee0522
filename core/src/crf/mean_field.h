// SPDX-License-Identifier: MIT
#pragma once
// What DenseCrf2D's mean-field step and its specialised kernels (kernels/) share: how a group of
// CRFs sits in a row of value channels, what the update needs of each pairwise kernel, and the
// prefetching of lattice rows.

#include <cstddef>
#include <cstdint>

#include "pseudomask/core/crf/lattice.h"
#include "simd8.h"

namespace pm::detail {

// A CRF's channels within a group's value rows.
struct Segment {
  int offset = 0;
  int labels = 0;
};

// What the fused update needs of one kernel: its lattice's corners, the blurred values, its
// normalisation after filtering, and its label compatibility.
struct KernelView {
  const int32_t* offsets;
  const float* weights;
  size_t d1;
  float alpha;
  const float* values;
  const float* after;   // nullptr = 1
  float weight;         // Potts w
  const float* compat;  // M×M or nullptr (Potts)
  bool prefetch;        // whether the update prefetches its rows (see worth_prefetching)
};

// Pixels ahead whose lattice rows the update prefetches (see prefetch_row).
constexpr size_t kPrefetchAhead = 4;

// Prefetches the value rows of pixel p's simplex corners in every kernel that asks for it (if
// p < end).
PM_ALWAYS_INLINE void prefetch_corner_rows(
    const KernelView* kernels, size_t nk, size_t p, size_t end, size_t ch) {
  if (p >= end)
    return;
  for (size_t k = 0; k < nk; ++k) {
    const KernelView& kv = kernels[k];
    if (!kv.prefetch)
      continue;
    for (size_t j = 0; j < kv.d1; ++j)
      prefetch_row(kv.values + static_cast<size_t>(kv.offsets[p * kv.d1 + j]) * ch, ch);
  }
}

}  // namespace pm::detail
