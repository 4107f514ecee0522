// SPDX-License-Identifier: MIT
// Specialised kernel, bit-identical to mean_field_step (dense_crf.cpp); proven by
// CrfKernels.PottsSingleEqualsThePlainStepBitForBit (core/tests/crf/test_crf.cpp).
#include "potts_single.h"

#include "../simd8.h"
#include "potts_messages.h"

namespace pm::detail {
namespace {

// The same update for the common case, specialised at compile time: one CRF per row of NB
// blocks (NB·8 ≥ its labels), Potts kernels only, P pixels at a time. The rows' energies stay in
// registers through the slices of every kernel and the softmax; the float operations and their
// order are those of mean_field_step (dense_crf.cpp), so the results are bit for bit the same.
template <int NB, int P>
PM_ALWAYS_INLINE void mean_field_update_potts_rows(size_t p,
                                                   int labels,
                                                   const float* __restrict neg_unary,
                                                   float* __restrict q,
                                                   const KernelView* kernels,
                                                   size_t nk,
                                                   SliceOrder order) {
  constexpr size_t ch = NB * kChannelBlock;
  f8 e[P][NB];
  potts_energies<NB, P>(p, neg_unary, kernels, nk, order, e);
  // softmax_row for one segment.
  const i8 lane = {0, 1, 2, 3, 4, 5, 6, 7};
  f8 top[P];
  for (int i = 0; i < P; ++i) {
    f8 mx = splat8(-1e30f);
    for (int b = 0; b < NB; ++b) {
      if (b * static_cast<int>(kChannelBlock) < labels)
        mx =
            ((lane < labels - b * static_cast<int>(kChannelBlock)) & (e[i][b] > mx)) ? e[i][b] : mx;
    }
    top[i] = splat8(horizontal_max(mx));
  }
  f8 sum[P];
  for (int i = 0; i < P; ++i) {
    sum[i] = splat8(0.0f);
    for (int b = 0; b < NB; ++b) {
      e[i][b] = exp8_nonpositive(e[i][b] - top[i]);
      if (b * static_cast<int>(kChannelBlock) < labels)
        sum[i] += (lane < labels - b * static_cast<int>(kChannelBlock)) ? e[i][b] : splat8(0.0f);
    }
  }
  for (int i = 0; i < P; ++i) {
    const float total = horizontal_sum(sum[i]);
    float* __restrict row = q + (p + i) * ch;
    for (int b = 0; b < NB; ++b) {
      const f8 v = e[i][b] / total;
      store8(row + b * kChannelBlock,
             (lane < labels - b * static_cast<int>(kChannelBlock)) ? v : splat8(0.0f));
    }
  }
}

template <int NB>
__attribute__((target_clones("avx512f", "avx2", "default"))) void mean_field_update_potts(
    size_t p_begin,
    size_t p_end,
    int labels,
    const float* __restrict neg_unary,
    float* __restrict q,
    const KernelView* kernels,
    size_t nk,
    SliceOrder order) {
  constexpr int kPixels = 2;  // pixels per step (see potts_energies)
  size_t p = p_begin;
  for (; p + kPixels <= p_end; p += kPixels) {
    for (int i = 0; i < kPixels; ++i)
      prefetch_corner_rows(kernels, nk, p + i + kPrefetchAhead, p_end, NB * kChannelBlock);
    mean_field_update_potts_rows<NB, kPixels>(p, labels, neg_unary, q, kernels, nk, order);
  }
  for (; p < p_end; ++p)
    mean_field_update_potts_rows<NB, 1>(p, labels, neg_unary, q, kernels, nk, order);
}

}  // namespace

void mean_field_step_potts_single(size_t p_begin,
                                  size_t p_end,
                                  size_t ch,
                                  int labels,
                                  const float* neg_unary,
                                  float* q,
                                  const KernelView* kernels,
                                  size_t nk,
                                  SliceOrder order) {
  with_block_count<1, kMaxPottsSingleBlocks>(ch / kChannelBlock, [&](auto nb) {
    mean_field_update_potts<decltype(nb)::value>(
        p_begin, p_end, labels, neg_unary, q, kernels, nk, order);
  });
}

}  // namespace pm::detail
