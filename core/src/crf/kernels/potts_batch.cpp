// SPDX-License-Identifier: MIT
// Specialised kernel, bit-identical to mean_field_step (dense_crf.cpp); proven by
// CrfKernels.PottsBatchEqualsThePlainStepBitForBit (core/tests/crf/test_crf.cpp).
#include "potts_batch.h"

#include "../simd8.h"
#include "potts_messages.h"

namespace pm::detail {
namespace {

// segment_max of m ≤ 8 values, in scalar code with the same result: each lane is first masked
// against −1e30 (as the vector max starts from it), then horizontal_max's left-to-right chain
// runs over the lanes; the lanes past m hold −1e30 and can never win, since no masked lane is
// below −1e30 (nor NaN).
PM_ALWAYS_INLINE float short_segment_max(const float* __restrict p, int m) {
  float top = p[0] > -1e30f ? p[0] : -1e30f;
  for (int l = 1; l < m; ++l) {
    const float v = p[l] > -1e30f ? p[l] : -1e30f;
    top = v > top ? v : top;
  }
  return top;
}

// segment_sum of m ≤ 8 exponentials, in scalar code with the same bits: horizontal_sum's
// pairwise tree ((v0+v1)+(v2+v3))+((v4+v5)+(v6+v7)) with the lanes past m equal to +0, whose
// additions are left out: x + (+0) = x for every x but −0, which exp8_nonpositive never returns.
PM_ALWAYS_INLINE float short_pair(const float* __restrict p, int i, int m) {
  return i + 1 < m ? p[i] + p[i + 1] : p[i];
}
PM_ALWAYS_INLINE float short_quad(const float* __restrict p, int i, int m) {
  return i + 2 < m ? short_pair(p, i, m) + short_pair(p, i + 2, m) : short_pair(p, i, m);
}
PM_ALWAYS_INLINE float short_segment_sum(const float* __restrict p, int m) {
  return m > 4 ? short_quad(p, 0, m) + short_quad(p, 4, m) : short_quad(p, 0, m);
}

// softmax_row (dense_crf.cpp) of a row of NB blocks (its energies e) made of `crfs` segments of the
// same small label count (URN's variants, K labels each, K ≤ 8), written to `row`: the per-segment
// max and sum run as short scalar chains with softmax_row's results (see short_segment_max/sum),
// instead of masked vector loads and reductions per segment.
template <int NB, int L>
PM_ALWAYS_INLINE void softmax_equal_segments(f8 (&e)[NB],
                                             int runtime_labels,
                                             int crfs,
                                             float* __restrict row) {
  const int labels = L > 0 ? L : runtime_labels;
  constexpr int ch = NB * static_cast<int>(kChannelBlock);
  const int used = labels * crfs;
  alignas(32) float buf[ch];
  alignas(32) float per_lane[ch];  // each lane's segment max, then its segment sum
  for (int b = 0; b < NB; ++b)
    store8(buf + b * kChannelBlock, e[b]);
  for (int s = 0; s < crfs; ++s) {
    const float top = short_segment_max(buf + s * labels, labels);
    for (int l = 0; l < labels; ++l)
      per_lane[s * labels + l] = top;
  }
  for (int c = used; c < ch; ++c)
    per_lane[c] = 0.0f;  // padding: as softmax_row (masked below)
  for (int b = 0; b < NB; ++b) {
    e[b] = exp8_nonpositive(e[b] - load8(per_lane + b * kChannelBlock));
    store8(buf + b * kChannelBlock, e[b]);
  }
  for (int s = 0; s < crfs; ++s) {
    const float total = short_segment_sum(buf + s * labels, labels);
    for (int l = 0; l < labels; ++l)
      per_lane[s * labels + l] = total;
  }
  for (int c = used; c < ch; ++c)
    per_lane[c] = 1.0f;
  const i8 lane = {0, 1, 2, 3, 4, 5, 6, 7};
  for (int b = 0; b < NB; ++b) {
    const int at = b * static_cast<int>(kChannelBlock);
    const f8 v = e[b] / load8(per_lane + at);
    store8(row + at, (lane < used - at) ? v : splat8(0.0f));
  }
}

// The update for a batch of CRFs that all have the same small label count, Potts kernels only,
// specialised to NB blocks per row, one pixel per step (these rows are gathered from lattices far
// larger than the cache, URN's, where interleaving two pixels as potts_single.cpp does
// gains nothing): the energies stay in registers as in potts_single.cpp, then
// softmax_equal_segments, unrolled for URN's common label counts (K present classes).
template <int NB>
__attribute__((target_clones("avx512f", "avx2", "default"))) void mean_field_update_potts_batch(
    size_t p_begin,
    size_t p_end,
    int labels,
    int crfs,
    const float* __restrict neg_unary,
    float* __restrict q,
    const KernelView* kernels,
    size_t nk,
    SliceOrder order) {
  for (size_t p = p_begin; p < p_end; ++p) {
    prefetch_corner_rows(kernels, nk, p + kPrefetchAhead, p_end, NB * kChannelBlock);
    f8 e[1][NB];
    potts_energies<NB, 1>(p, neg_unary, kernels, nk, order, e);
    float* row = q + p * NB * kChannelBlock;
    if (labels == 2)
      softmax_equal_segments<NB, 2>(e[0], labels, crfs, row);
    else if (labels == 3)
      softmax_equal_segments<NB, 3>(e[0], labels, crfs, row);
    else if (labels == 4)
      softmax_equal_segments<NB, 4>(e[0], labels, crfs, row);
    else
      softmax_equal_segments<NB, 0>(e[0], labels, crfs, row);
  }
}

}  // namespace

void mean_field_step_potts_batch(size_t p_begin,
                                 size_t p_end,
                                 size_t ch,
                                 int labels,
                                 int crfs,
                                 const float* neg_unary,
                                 float* q,
                                 const KernelView* kernels,
                                 size_t nk,
                                 SliceOrder order) {
  with_block_count<1, kMaxPottsBatchBlocks>(ch / kChannelBlock, [&](auto nb) {
    mean_field_update_potts_batch<decltype(nb)::value>(
        p_begin, p_end, labels, crfs, neg_unary, q, kernels, nk, order);
  });
}

}  // namespace pm::detail
