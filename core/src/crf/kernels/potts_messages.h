// SPDX-License-Identifier: MIT
#pragma once
// The message passing and compatibility transform of the Potts kernels (potts_single.cpp,
// potts_batch.cpp), with a pixel's energies held in registers. Bit-identical to mean_field_step's
// slice_message + add_message (dense_crf.cpp): the same float operations in the same order;
// proven by CrfKernels.Potts{Single,Batch}EqualsThePlainStepBitForBit
// (core/tests/crf/test_crf.cpp).

#include <cstddef>

#include "../mean_field.h"
#include "../simd8.h"

namespace pm::detail {

// Slices one (Potts) kernel's message for pixels p..p+P−1 and adds it to their energies e, for
// rows of NB blocks: slice_corners' order (corner 0 initialises, the others add), then
// add_message's E + w·(m·after). D1 > 0 fixes the corner count at compile time (kv.d1 otherwise).
template <int NB, int P, int D1>
PM_ALWAYS_INLINE void add_potts_message(const KernelView& kv,
                                        size_t p,
                                        bool alpha_first,
                                        f8 (&e)[P][NB]) {
  constexpr size_t ch = NB * kChannelBlock;
  const size_t d1 = D1 > 0 ? static_cast<size_t>(D1) : kv.d1;
  f8 m[P][NB] = {};
  for (size_t j = 0; j < d1; ++j) {
    for (int i = 0; i < P; ++i) {
      const size_t corner = (p + i) * d1 + j;
      const float* __restrict src = kv.values + static_cast<size_t>(kv.offsets[corner]) * ch;
      const float w = alpha_first ? kv.weights[corner] * kv.alpha : kv.weights[corner];
      for (int b = 0; b < NB; ++b) {
        const f8 v = load8(src + b * kChannelBlock);
        const f8 term = alpha_first ? w * v : w * v * kv.alpha;
        m[i][b] = j == 0 ? term : m[i][b] + term;
      }
    }
  }
  for (int i = 0; i < P; ++i) {
    const float after = kv.after ? kv.after[p + i] : 1.0f;
    for (int b = 0; b < NB; ++b)
      e[i][b] = e[i][b] + kv.weight * (m[i][b] * after);  // add_message, Potts
  }
}

// Slices every (Potts) kernel's message for pixels p..p+P−1 and adds it to −U, for rows of NB
// blocks held in registers: slice_corners' order (corner 0 initialises, the others add), then
// add_message's E + w·(m·after). The P pixels' independent chains are interleaved step by step,
// so that the core overlaps them (one pixel's chain of dependent adds, maxima and exponentials
// leaves most execution units idle). (No lambda here: a helper that is not inlined into the
// target_clones variant would pass vectors across ABIs.)
template <int NB, int P>
PM_ALWAYS_INLINE void potts_energies(size_t p,
                                     const float* __restrict neg_unary,
                                     const KernelView* kernels,
                                     size_t nk,
                                     SliceOrder order,
                                     f8 (&e)[P][NB]) {
  constexpr size_t ch = NB * kChannelBlock;
  const bool alpha_first = order == SliceOrder::kWeightTimesAlphaFirst;
  for (int i = 0; i < P; ++i) {
    for (int b = 0; b < NB; ++b)
      e[i][b] = load8(neg_unary + (p + i) * ch + b * kChannelBlock);
  }
  // The CRF presets' kernels (a 2-d Gaussian, then a 5-d bilateral) with their corner loops
  // unrolled; any other set in a loop.
  if (nk == 2 && kernels[0].d1 == 3 && kernels[1].d1 == 6) {
    add_potts_message<NB, P, 3>(kernels[0], p, alpha_first, e);
    add_potts_message<NB, P, 6>(kernels[1], p, alpha_first, e);
    return;
  }
  for (size_t k = 0; k < nk; ++k)
    add_potts_message<NB, P, 0>(kernels[k], p, alpha_first, e);
}

}  // namespace pm::detail
