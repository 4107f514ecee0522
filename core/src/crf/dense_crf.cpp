// SPDX-License-Identifier: MIT
// Mean-field inference for the fully-connected CRF (Krähenbühl & Koltun 2011, Algorithm 1),
// with the reference's float order: Q⁰ = softmax(−U); each iteration
// E = −U − Σ_k μ_k(K̃_k Q) (Potts: E = −U + Σ_k w_k·K̃_k Q), Q = softmax(E).
#include "pseudomask/core/crf/dense_crf.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "pseudomask/core/common/error.h"
#include "pseudomask/core/common/parallel.h"
#include "simd8.h"
#include "slice.h"

namespace pm {
namespace {

// Per-pixel kernel normalisation from n_i = (K·1)_i, as the reference computes it.
void make_normalisation(const PermutohedralLattice& lattice,
                        Normalization mode,
                        size_t n,
                        std::vector<float>& before,
                        std::vector<float>& after) {
  if (mode == Normalization::kNone)
    return;
  std::vector<float> ones(n, 1.0f), sums(n);
  LatticeWorkspace ws;
  lattice.filter(ones.data(), 1, sums.data(), ws);
  std::vector<float> norm(n);
  for (size_t i = 0; i < n; ++i) {
    norm[i] = mode == Normalization::kSymmetric
                  ? static_cast<float>(1.0 / std::sqrt(static_cast<double>(sums[i]) + 1e-20))
                  : static_cast<float>(1.0 / (static_cast<double>(sums[i]) + 1e-20));
  }
  if (mode == Normalization::kSymmetric || mode == Normalization::kBefore)
    before = norm;
  if (mode == Normalization::kSymmetric || mode == Normalization::kAfter)
    after = std::move(norm);
}

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

// Adds a kernel's message to a pixel's energies (Krähenbühl & Koltun 2011, Algorithm 1, the
// compatibility transform): Potts E += w·m, or a full matrix E −= μ·m with μ symmetrised.
PM_ALWAYS_INLINE void add_message(const KernelView& k,
                                  const Segment* segs,
                                  size_t ns,
                                  size_t ch,
                                  const float* __restrict message,
                                  float after,
                                  float* __restrict energy) {
  if (!k.compat) {  // padding channels carry 0 messages, so the whole row can be updated
    for (size_t c = 0; c < ch; c += kChannelBlock) {
      detail::store8(energy + c,
                     detail::load8(energy + c) + k.weight * (detail::load8(message + c) * after));
    }
    return;
  }
  for (size_t s = 0; s < ns; ++s) {
    const int o = segs[s].offset, m = segs[s].labels;
    for (int l = 0; l < m; ++l) {
      float acc = 0.0f;
      for (int j = 0; j < m; ++j) {
        const float mu = 0.5f * (k.compat[l * m + j] + k.compat[j * m + l]);
        acc += mu * (message[o + j] * after);
      }
      energy[o + l] -= acc;
    }
  }
}

// The largest row a group may have (channels, padded).
constexpr size_t kMaxRowChannels = 512;

// Masked max of m values starting at p (blocks relative to p, lanes past m ignored).
PM_ALWAYS_INLINE float segment_max(const float* __restrict p, int m) {
  const detail::i8 lane = {0, 1, 2, 3, 4, 5, 6, 7};
  detail::f8 mx = detail::splat8(-1e30f);
  for (int l = 0; l < m; l += static_cast<int>(kChannelBlock)) {
    const detail::f8 v = detail::load8(p + l);
    mx = ((lane < m - l) & (v > mx)) ? v : mx;
  }
  return detail::horizontal_max(mx);
}

// Masked sum of m values starting at p: lane-wise over blocks relative to p, then pairwise. The
// order depends only on m, not on where the segment sits in a row, so a CRF gives the same bits
// alone or batched.
PM_ALWAYS_INLINE float segment_sum(const float* __restrict p, int m) {
  const detail::i8 lane = {0, 1, 2, 3, 4, 5, 6, 7};
  detail::f8 sum = detail::splat8(0.0f);
  for (int l = 0; l < m; l += static_cast<int>(kChannelBlock)) {
    sum += (lane < m - l) ? detail::load8(p + l) : detail::splat8(0.0f);
  }
  return detail::horizontal_sum(sum);
}

// Softmax of every segment of one padded row in place: per segment subtract its max,
// exponentiate, divide by its sum. The exponentials run over the whole row in 8-lane blocks, so
// a row of many small CRFs costs no more than one CRF with as many labels. Padding channels stay 0.
PM_ALWAYS_INLINE void softmax_row(float* __restrict row,
                                  size_t ch,
                                  const Segment* segs,
                                  size_t ns) {
  const detail::i8 lane = {0, 1, 2, 3, 4, 5, 6, 7};
  alignas(32) float buf[kMaxRowChannels + kChannelBlock];
  if (ns == 1) {  // one CRF: the same arithmetic with broadcast max and sum
    const int m = segs[0].labels;
    const detail::f8 top = detail::splat8(segment_max(row, m));
    for (size_t c = 0; c < ch; c += kChannelBlock) {
      detail::store8(buf + c, detail::exp8_nonpositive(detail::load8(row + c) - top));
    }
    const float total = segment_sum(buf, m);
    for (size_t c = 0; c < ch; c += kChannelBlock) {
      const detail::f8 q = detail::load8(buf + c) / total;
      detail::store8(row + c, (lane < m - static_cast<int>(c)) ? q : detail::splat8(0.0f));
    }
    return;
  }
  alignas(32) float shift[kMaxRowChannels];
  alignas(32) float denom[kMaxRowChannels];
  for (size_t c = 0; c < ch; c += kChannelBlock)
    detail::store8(buf + c, detail::load8(row + c));
  for (size_t c = 0; c < ch; ++c) {
    shift[c] = 0.0f;
    denom[c] = 1.0f;
  }
  for (size_t s = 0; s < ns; ++s) {
    const float top = segment_max(buf + segs[s].offset, segs[s].labels);
    for (int c = segs[s].offset; c < segs[s].offset + segs[s].labels; ++c)
      shift[c] = top;
  }
  for (size_t c = 0; c < ch; c += kChannelBlock) {
    detail::store8(buf + c,
                   detail::exp8_nonpositive(detail::load8(buf + c) - detail::load8(shift + c)));
  }
  const int used = segs[ns - 1].offset + segs[ns - 1].labels;
  for (size_t s = 0; s < ns; ++s) {
    const float total = segment_sum(buf + segs[s].offset, segs[s].labels);
    for (int c = segs[s].offset; c < segs[s].offset + segs[s].labels; ++c)
      denom[c] = total;
  }
  for (size_t c = 0; c < ch; c += kChannelBlock) {
    const detail::f8 q = detail::load8(buf + c) / detail::load8(denom + c);
    detail::store8(row + c, (lane < used - static_cast<int>(c)) ? q : detail::splat8(0.0f));
  }
}

// Softmax of every segment of every pixel row.
__attribute__((target_clones("avx512f", "avx2", "default"))) void softmax_rows(
    float* __restrict q, size_t n, size_t ch, const Segment* segs, size_t ns) {
  for (size_t p = 0; p < n; ++p)
    softmax_row(q + p * ch, ch, segs, ns);
}

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
      detail::prefetch_row(kv.values + static_cast<size_t>(kv.offsets[p * kv.d1 + j]) * ch, ch);
  }
}

// One mean-field update of pixels [p_begin, p_end), fused: E = −U + messages of every kernel
// (sliced out of the blurred lattice values), then Q = softmax(E), written over Q (all splats are
// done).
__attribute__((target_clones("avx512f", "avx2", "default"))) void mean_field_update(
    size_t p_begin,
    size_t p_end,
    size_t ch,
    const float* __restrict neg_unary,
    float* __restrict q,
    const KernelView* kernels,
    size_t nk,
    const Segment* segs,
    size_t ns,
    SliceOrder order,
    float* __restrict message) {
  for (size_t p = p_begin; p < p_end; ++p) {
    prefetch_corner_rows(kernels, nk, p + kPrefetchAhead, p_end, ch);
    float* __restrict row = q + p * ch;
    const float* __restrict u = neg_unary + p * ch;
    for (size_t c = 0; c < ch; c += kChannelBlock)
      detail::store8(row + c, detail::load8(u + c));
    for (size_t k = 0; k < nk; ++k) {
      const KernelView& kv = kernels[k];
      detail::slice_corners(kv.offsets + p * kv.d1,
                            kv.weights + p * kv.d1,
                            kv.d1,
                            kv.alpha,
                            kv.values,
                            ch,
                            order,
                            message);
      add_message(kv, segs, ns, ch, message, kv.after ? kv.after[p] : 1.0f, row);
    }
    softmax_row(row, ch, segs, ns);
  }
}

// Slices one (Potts) kernel's message for pixels p..p+P−1 and adds it to their energies e, for
// rows of NB blocks: slice_corners' order (corner 0 initialises, the others add), then
// add_message's E + w·(m·after). D1 > 0 fixes the corner count at compile time (kv.d1 otherwise).
template <int NB, int P, int D1>
PM_ALWAYS_INLINE void add_potts_message(const KernelView& kv,
                                        size_t p,
                                        bool alpha_first,
                                        detail::f8 (&e)[P][NB]) {
  using detail::f8;
  constexpr size_t ch = NB * kChannelBlock;
  const size_t d1 = D1 > 0 ? static_cast<size_t>(D1) : kv.d1;
  f8 m[P][NB] = {};
  for (size_t j = 0; j < d1; ++j) {
    for (int i = 0; i < P; ++i) {
      const size_t corner = (p + i) * d1 + j;
      const float* __restrict src = kv.values + static_cast<size_t>(kv.offsets[corner]) * ch;
      const float w = alpha_first ? kv.weights[corner] * kv.alpha : kv.weights[corner];
      for (int b = 0; b < NB; ++b) {
        const f8 v = detail::load8(src + b * kChannelBlock);
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
                                     detail::f8 (&e)[P][NB]) {
  using detail::f8;
  constexpr size_t ch = NB * kChannelBlock;
  const bool alpha_first = order == SliceOrder::kWeightTimesAlphaFirst;
  for (int i = 0; i < P; ++i) {
    for (int b = 0; b < NB; ++b)
      e[i][b] = detail::load8(neg_unary + (p + i) * ch + b * kChannelBlock);
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

// The same update for the common case, specialised at compile time: one CRF per row of NB
// blocks (NB·8 ≥ its labels), Potts kernels only, P pixels at a time. The rows' energies stay in
// registers through the slices of every kernel and the softmax; the float operations and their
// order are those of the general update above, so the results are bit for bit the same.
template <int NB, int P>
PM_ALWAYS_INLINE void mean_field_update_potts_rows(size_t p,
                                                   int labels,
                                                   const float* __restrict neg_unary,
                                                   float* __restrict q,
                                                   const KernelView* kernels,
                                                   size_t nk,
                                                   SliceOrder order) {
  using detail::f8;
  constexpr size_t ch = NB * kChannelBlock;
  f8 e[P][NB];
  potts_energies<NB, P>(p, neg_unary, kernels, nk, order, e);
  // softmax_row for one segment.
  const detail::i8 lane = {0, 1, 2, 3, 4, 5, 6, 7};
  f8 top[P];
  for (int i = 0; i < P; ++i) {
    f8 mx = detail::splat8(-1e30f);
    for (int b = 0; b < NB; ++b) {
      if (b * static_cast<int>(kChannelBlock) < labels)
        mx =
            ((lane < labels - b * static_cast<int>(kChannelBlock)) & (e[i][b] > mx)) ? e[i][b] : mx;
    }
    top[i] = detail::splat8(detail::horizontal_max(mx));
  }
  f8 sum[P];
  for (int i = 0; i < P; ++i) {
    sum[i] = detail::splat8(0.0f);
    for (int b = 0; b < NB; ++b) {
      e[i][b] = detail::exp8_nonpositive(e[i][b] - top[i]);
      if (b * static_cast<int>(kChannelBlock) < labels)
        sum[i] +=
            (lane < labels - b * static_cast<int>(kChannelBlock)) ? e[i][b] : detail::splat8(0.0f);
    }
  }
  for (int i = 0; i < P; ++i) {
    const float total = detail::horizontal_sum(sum[i]);
    float* __restrict row = q + (p + i) * ch;
    for (int b = 0; b < NB; ++b) {
      const f8 v = e[i][b] / total;
      detail::store8(
          row + b * kChannelBlock,
          (lane < labels - b * static_cast<int>(kChannelBlock)) ? v : detail::splat8(0.0f));
    }
  }
}

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

// softmax_row of a row of NB blocks (its energies e) made of `crfs` segments of the same small
// label count (URN's variants, K labels each, K ≤ 8), written to `row`: the per-segment max and
// sum run as short scalar chains with softmax_row's results (see short_segment_max/sum), instead
// of masked vector loads and reductions per segment.
template <int NB, int L>
PM_ALWAYS_INLINE void softmax_equal_segments(detail::f8 (&e)[NB],
                                             int runtime_labels,
                                             int crfs,
                                             float* __restrict row) {
  using detail::f8;
  const int labels = L > 0 ? L : runtime_labels;
  constexpr int ch = NB * static_cast<int>(kChannelBlock);
  const int used = labels * crfs;
  alignas(32) float buf[ch];
  alignas(32) float per_lane[ch];  // each lane's segment max, then its segment sum
  for (int b = 0; b < NB; ++b)
    detail::store8(buf + b * kChannelBlock, e[b]);
  for (int s = 0; s < crfs; ++s) {
    const float top = short_segment_max(buf + s * labels, labels);
    for (int l = 0; l < labels; ++l)
      per_lane[s * labels + l] = top;
  }
  for (int c = used; c < ch; ++c)
    per_lane[c] = 0.0f;  // padding: as softmax_row (masked below)
  for (int b = 0; b < NB; ++b) {
    e[b] = detail::exp8_nonpositive(e[b] - detail::load8(per_lane + b * kChannelBlock));
    detail::store8(buf + b * kChannelBlock, e[b]);
  }
  for (int s = 0; s < crfs; ++s) {
    const float total = short_segment_sum(buf + s * labels, labels);
    for (int l = 0; l < labels; ++l)
      per_lane[s * labels + l] = total;
  }
  for (int c = used; c < ch; ++c)
    per_lane[c] = 1.0f;
  const detail::i8 lane = {0, 1, 2, 3, 4, 5, 6, 7};
  for (int b = 0; b < NB; ++b) {
    const int at = b * static_cast<int>(kChannelBlock);
    const f8 v = e[b] / detail::load8(per_lane + at);
    detail::store8(row + at, (lane < used - at) ? v : detail::splat8(0.0f));
  }
}

// The update for a batch of CRFs that all have the same small label count, Potts kernels only,
// specialised to NB blocks per row, one pixel per step (these rows are gathered from lattices far
// larger than the cache, URN's, where interleaving two pixels as mean_field_update_potts does
// gains nothing): the energies stay in registers as in mean_field_update_potts_rows, then
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
    detail::f8 e[1][NB];
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

// Which update a group takes: the general one, or a compile-time specialised one for Potts
// kernels (one CRF of at most 48 labels, or a batch of CRFs with the same label count ≤ 8 in at
// most 64 channels).
enum class UpdateKind { kGeneral, kPottsSingle, kPottsBatch };
constexpr int kMaxSpecialisedBlocks = 6;
constexpr int kMaxBatchBlocks = 8;
constexpr int kMaxBatchLabels = 8;

UpdateKind update_kind(
    const KernelView* kernels, size_t nk, const Segment* segs, size_t ns, size_t ch) {
  for (size_t k = 0; k < nk; ++k) {
    if (kernels[k].compat)
      return UpdateKind::kGeneral;
  }
  const size_t blocks = ch / kChannelBlock;
  if (ns == 1)
    return blocks <= kMaxSpecialisedBlocks ? UpdateKind::kPottsSingle : UpdateKind::kGeneral;
  if (blocks > kMaxBatchBlocks || segs[0].labels > kMaxBatchLabels)
    return UpdateKind::kGeneral;
  for (size_t s = 0; s < ns; ++s) {
    if (segs[s].labels != segs[0].labels)
      return UpdateKind::kGeneral;
  }
  return UpdateKind::kPottsBatch;
}

void mean_field_update_specialised(size_t p_begin,
                                   size_t p_end,
                                   size_t ch,
                                   int labels,
                                   const float* neg_unary,
                                   float* q,
                                   const KernelView* kernels,
                                   size_t nk,
                                   SliceOrder order) {
  detail::with_block_count<1, kMaxSpecialisedBlocks>(ch / kChannelBlock, [&](auto nb) {
    mean_field_update_potts<decltype(nb)::value>(
        p_begin, p_end, labels, neg_unary, q, kernels, nk, order);
  });
}

void mean_field_update_batch_specialised(size_t p_begin,
                                         size_t p_end,
                                         size_t ch,
                                         int labels,
                                         int crfs,
                                         const float* neg_unary,
                                         float* q,
                                         const KernelView* kernels,
                                         size_t nk,
                                         SliceOrder order) {
  detail::with_block_count<1, kMaxBatchBlocks>(ch / kChannelBlock, [&](auto nb) {
    mean_field_update_potts_batch<decltype(nb)::value>(
        p_begin, p_end, labels, crfs, neg_unary, q, kernels, nk, order);
  });
}

// Calls fn(begin, end) on tiles of at most 256 pixels of [0, n), threads taking runs of tiles:
// 256 rows of 64 channels are 64 KB, so a tile's rows stay in cache between passes.
template <typename Fn>
void for_each_tile(size_t n, int threads, const Fn& fn) {
  constexpr size_t kTile = 256;
  const size_t tiles = (n + kTile - 1) / kTile;
  const size_t tasks = std::max<size_t>(1, std::min(tiles, static_cast<size_t>(threads)));
  parallel_for(tasks, threads, [&](size_t t) {
    for (size_t i = tiles * t / tasks; i < tiles * (t + 1) / tasks; ++i)
      fn(i * kTile, std::min(n, (i + 1) * kTile));
  });
}

// Fills the pixel-major rows of −U (the group's planes interleaved, padding channels 0) and
// Q⁰ = softmax(−U), a tile of pixels at a time: the tile's rows stay in cache while each plane
// is transposed into them, copied and normalised, instead of each pass sweeping the whole
// (tens of MB) table.
void initial_rows(const std::vector<const Unary*>& group,
                  const std::vector<Segment>& segments,
                  size_t n,
                  size_t ch,
                  int threads,
                  float* neg_unary,
                  float* q) {
  const size_t used =
      static_cast<size_t>(segments.back().offset) + static_cast<size_t>(segments.back().labels);
  for_each_tile(n, threads, [&](size_t begin, size_t end) {
    for (size_t p = begin; p < end; ++p)
      std::fill(neg_unary + p * ch + used, neg_unary + (p + 1) * ch, 0.0f);
    for (size_t s = 0; s < group.size(); ++s) {
      for (int l = 0; l < segments[s].labels; ++l) {
        float* dst = neg_unary + segments[s].offset + l;
        const float* src = group[s]->energy.data() + static_cast<size_t>(l) * n;
        for (size_t p = begin; p < end; ++p)
          dst[p * ch] = -src[p];
      }
    }
    std::copy(neg_unary + begin * ch, neg_unary + end * ch, q + begin * ch);
    softmax_rows(q + begin * ch, end - begin, ch, segments.data(), segments.size());
  });
}

// Each CRF's label map (argmax, lowest label on ties) and, if asked, its Q planes, from the
// group's pixel-major rows: a tile of pixels at a time for all CRFs, so the (tens of MB) table is
// read once rather than once per CRF.
void extract_results(const std::vector<Segment>& segments,
                     const float* q,
                     size_t ch,
                     int width,
                     int height,
                     CrfOutputs outputs,
                     int threads,
                     std::vector<CrfResult>& out) {
  const size_t n = static_cast<size_t>(width) * height;
  out.resize(segments.size());
  for (size_t s = 0; s < segments.size(); ++s) {
    out[s].labels = segments[s].labels;
    out[s].map = LabelMap(width, height, 0);
    if (outputs == CrfOutputs::kLabelsAndMarginals)
      out[s].q.resize(static_cast<size_t>(segments[s].labels) * n);
  }
  for_each_tile(n, threads, [&](size_t begin, size_t end) {
    for (size_t s = 0; s < segments.size(); ++s) {
      const Segment& seg = segments[s];
      CrfResult& r = out[s];
      for (size_t p = begin; p < end; ++p) {
        const float* row = q + p * ch + static_cast<size_t>(seg.offset);
        int best = 0;
        for (int l = 1; l < seg.labels; ++l)
          best = row[l] > row[best] ? l : best;
        r.map.labels[p] = static_cast<uint8_t>(best);  // ≤ 255: at most 256 labels
      }
      if (outputs == CrfOutputs::kLabels)
        continue;
      for (int l = 0; l < seg.labels; ++l) {
        float* dst = &r.q[static_cast<size_t>(l) * n];
        const float* src = q + static_cast<size_t>(seg.offset + l);
        for (size_t p = begin; p < end; ++p)
          dst[p] = src[p * ch];
      }
    }
  });
}

}  // namespace

CrfParams CrfParams::preset(const std::string& name) {
  CrfParams p;
  auto gaussian = [](float sxy, float w) {
    PairwiseTerm t;
    t.sxy = sxy;
    t.weight = w;
    return t;
  };
  auto bilateral = [](float sxy, float srgb, float w) {
    PairwiseTerm t;
    t.sxy = sxy;
    t.srgb = srgb;
    t.weight = w;
    return t;
  };
  if (name == "deeplab") {
    p.terms = {gaussian(3, 3), bilateral(80, 13, 10)};
  } else if (name == "urn") {
    p.terms = {gaussian(1, 3), bilateral(67, 3, 4)};
  } else if (name == "irn") {
    p.terms = {gaussian(3, 3), bilateral(50, 5, 10)};
  } else {
    PM_FAIL("--preset {}: expected deeplab, urn or irn", name);
  }
  return p;
}

void CrfParams::validate() const {
  PM_CHECK(iterations >= 0 && iterations <= 10000,
           "CRF iterations must be in [0, 10000], got {}",
           iterations);
  for (const auto& t : terms) {
    PM_CHECK(t.sxy > 0.0f && std::isfinite(t.sxy), "CRF sxy must be > 0, got {}", t.sxy);
    PM_CHECK(t.srgb >= 0.0f && std::isfinite(t.srgb), "CRF srgb must be >= 0, got {}", t.srgb);
    PM_CHECK(std::isfinite(t.weight), "CRF compat weight must be finite, got {}", t.weight);
    const size_t m =
        static_cast<size_t>(std::lround(std::sqrt(static_cast<double>(t.compat.size()))));
    PM_CHECK(t.compat.empty() || (m * m == t.compat.size() && m <= 256),
             "CRF compatibility matrix has {} entries, not M×M (M ≤ 256)",
             t.compat.size());
  }
}

std::vector<float> crf_features(const RgbImage& image, const PairwiseTerm& term) {
  const int d = term.bilateral() ? 5 : 2;
  const size_t n = image.num_pixels();
  std::vector<float> f(n * static_cast<size_t>(d));
  for (int y = 0; y < image.height; ++y) {
    for (int x = 0; x < image.width; ++x) {
      const size_t p = static_cast<size_t>(y) * image.width + x;
      float* out = &f[p * static_cast<size_t>(d)];
      out[0] = static_cast<float>(x) / term.sxy;
      out[1] = static_cast<float>(y) / term.sxy;
      if (d == 5) {
        for (int c = 0; c < 3; ++c)
          out[2 + c] = static_cast<float>(image.pixels[p * 3 + c]) / term.srgb;
      }
    }
  }
  return f;
}

DenseCrf2D::DenseCrf2D(const RgbImage& image, CrfParams params, int threads)
    : width_(image.width), height_(image.height), params_(std::move(params)) {
  params_.validate();
  PM_CHECK(image.width > 0 && image.height > 0, "CRF image is empty");
  set_threads(threads);
  const size_t n = image.num_pixels();
  kernels_.resize(params_.terms.size());
  // The kernels' lattices are independent: threads build them side by side.
  parallel_for(kernels_.size(), threads_, [&](size_t i) {
    Kernel& k = kernels_[i];
    k.term = params_.terms[i];
    const std::vector<float> f = crf_features(image, k.term);
    k.lattice = PermutohedralLattice::build(f.data(), n, k.term.bilateral() ? 5 : 2);
    make_normalisation(k.lattice, k.term.normalization, n, k.norm_before, k.norm_after);
  });
}

size_t DenseCrf2D::memory_bytes() const {
  size_t bytes = 0;
  for (const auto& k : kernels_) {
    bytes +=
        k.lattice.memory_bytes() + (k.norm_before.size() + k.norm_after.size()) * sizeof(float);
  }
  return bytes;
}

CrfResult DenseCrf2D::infer(const Unary& unary, CrfWorkspace* workspace, CrfOutputs outputs) const {
  std::vector<CrfResult> out =
      infer_batch({&unary}, /*max_group_channels=*/unary.labels, workspace, outputs);
  return std::move(out.front());
}

std::vector<CrfResult> DenseCrf2D::infer_batch(const std::vector<const Unary*>& batch,
                                               int max_group_channels,
                                               CrfWorkspace* workspace,
                                               CrfOutputs outputs) const {
  CrfWorkspace local;
  CrfWorkspace& ws = workspace ? *workspace : local;
  max_group_channels =
      std::min(max_group_channels, 256);  // a single CRF may still have up to 256 labels
  const size_t n = static_cast<size_t>(width_) * height_;
  for (const Unary* u : batch) {
    PM_CHECK(u != nullptr && u->labels >= 1 && u->labels <= 256,
             "CRF label count must be in [1, 256]");
    PM_CHECK(u->energy.size() == static_cast<size_t>(u->labels) * n,
             "CRF unary has {} values, expected {} labels × {} pixels",
             u->energy.size(),
             u->labels,
             n);
    for (const auto& k : kernels_) {
      PM_CHECK(k.term.compat.empty() ||
                   k.term.compat.size() == static_cast<size_t>(u->labels) * u->labels,
               "CRF compatibility matrix has {} entries but the unary has {} labels",
               k.term.compat.size(),
               u->labels);
    }
  }
  std::vector<CrfResult> results(batch.size());
  size_t start = 0;
  while (start < batch.size()) {
    size_t end = start;
    int channels = 0;
    // A group shares one slice order (the reference's ≤ 2-label and wider CRFs differ).
    const SliceOrder order = reference_slice_order(batch[start]->labels);
    while (end < batch.size() &&
           (end == start || (channels + batch[end]->labels <= max_group_channels &&
                             reference_slice_order(batch[end]->labels) == order))) {
      channels += batch[end++]->labels;
    }
    std::vector<const Unary*> group(batch.begin() + static_cast<std::ptrdiff_t>(start),
                                    batch.begin() + static_cast<std::ptrdiff_t>(end));
    std::vector<CrfResult> out;
    infer_group(group, ws, outputs, out);
    for (size_t i = 0; i < out.size(); ++i)
      results[start + i] = std::move(out[i]);
    start = end;
  }
  return results;
}

void DenseCrf2D::infer_group(const std::vector<const Unary*>& group,
                             CrfWorkspace& ws,
                             CrfOutputs outputs,
                             std::vector<CrfResult>& out) const {
  const size_t n = static_cast<size_t>(width_) * height_;
  std::vector<Segment> segments;
  int used = 0;
  for (const Unary* u : group) {
    segments.push_back({used, u->labels});
    used += u->labels;
  }
  // The reference slices rows of ≤ 2 values with its scalar code, wider rows with SSE code, in
  // different float orders; groups never mix the two.
  const SliceOrder order = reference_slice_order(group.front()->labels);
  // Rows padded with zero channels to whole blocks.
  const size_t ch = (static_cast<size_t>(used) + kChannelBlock - 1) / kChannelBlock * kChannelBlock;
  PM_CHECK(ch <= kMaxRowChannels, "CRF group of {} channels exceeds {}", ch, kMaxRowChannels);
  const int channels = static_cast<int>(ch);
  // Pixel-major rows: −U and Q⁰ = softmax(−U).
  // Grown only (never shrunk), so that a workspace alternating between groups of different widths
  // does not zero-fill the difference on every call; initial_rows writes every value used.
  if (ws.neg_unary.size() < n * ch)
    ws.neg_unary.resize(n * ch);
  if (ws.q.size() < n * ch)
    ws.q.resize(n * ch);
  initial_rows(group, segments, n, ch, threads_, ws.neg_unary.data(), ws.q.data());

  ws.lattices.resize(kernels_.size());
  std::vector<KernelView> views(kernels_.size());
  const size_t tasks = static_cast<size_t>(std::max(threads_, 1));
  std::vector<float> messages(tasks * ch);
  for (int it = 0; it < params_.iterations; ++it) {
    for (size_t k = 0; k < kernels_.size(); ++k) {
      const Kernel& kern = kernels_[k];
      kern.lattice.splat_and_blur(ws.q.data(),
                                  kern.norm_before.empty() ? nullptr : kern.norm_before.data(),
                                  channels,
                                  ws.lattices[k],
                                  threads_);
      views[k] = {
          kern.lattice.corner_offsets(),
          kern.lattice.corner_weights(),
          static_cast<size_t>(kern.lattice.dim() + 1),
          kern.lattice.alpha(),
          ws.lattices[k].values.data(),
          kern.norm_after.empty() ? nullptr : kern.norm_after.data(),
          kern.term.weight,
          kern.term.compat.empty() ? nullptr : kern.term.compat.data(),
          detail::worth_prefetching((kern.lattice.num_vertices() + 1) * ch * sizeof(float))};
    }
    // Pixels are independent here: threads split them.
    const UpdateKind kind =
        update_kind(views.data(), views.size(), segments.data(), segments.size(), ch);
    parallel_for(tasks, threads_, [&](size_t t) {
      const size_t begin = n * t / tasks, end = n * (t + 1) / tasks;
      if (kind == UpdateKind::kPottsSingle) {
        mean_field_update_specialised(begin,
                                      end,
                                      ch,
                                      segments.front().labels,
                                      ws.neg_unary.data(),
                                      ws.q.data(),
                                      views.data(),
                                      views.size(),
                                      order);
        return;
      }
      if (kind == UpdateKind::kPottsBatch) {
        mean_field_update_batch_specialised(begin,
                                            end,
                                            ch,
                                            segments.front().labels,
                                            static_cast<int>(segments.size()),
                                            ws.neg_unary.data(),
                                            ws.q.data(),
                                            views.data(),
                                            views.size(),
                                            order);
        return;
      }
      mean_field_update(begin,
                        end,
                        ch,
                        ws.neg_unary.data(),
                        ws.q.data(),
                        views.data(),
                        views.size(),
                        segments.data(),
                        segments.size(),
                        order,
                        &messages[t * ch]);
    });
  }

  extract_results(segments, ws.q.data(), ch, width_, height_, outputs, threads_, out);
}

Unary unary_from_probabilities(const float* probs, int labels, size_t pixels, float clip) {
  PM_CHECK(labels >= 1 && labels <= 256, "CRF label count must be in [1, 256], got {}", labels);
  PM_CHECK(clip > 0.0f && clip <= 1.0f, "probability clip must be in (0, 1], got {}", clip);
  Unary u;
  u.labels = labels;
  u.energy.resize(static_cast<size_t>(labels) * pixels);
  for (size_t i = 0; i < u.energy.size(); ++i) {
    PM_CHECK(!std::isnan(probs[i]),
             "probability {} (label {}, pixel {}) is NaN",
             i,
             i / pixels,
             i % pixels);
    u.energy[i] = -std::log(std::min(std::max(probs[i], clip), 1.0f));
  }
  return u;
}

Unary unary_from_labels(const LabelMap& labels, int num_labels, double gt_prob, bool zero_unsure) {
  PM_CHECK(num_labels >= 2 && num_labels <= 256,
           "CRF label count must be in [2, 256], got {}",
           num_labels);
  PM_CHECK(gt_prob > 0.0 && gt_prob < 1.0, "gt_prob must be in (0, 1), got {}", gt_prob);
  const size_t n = labels.num_pixels();
  const float other = static_cast<float>(-std::log((1.0 - gt_prob) / (num_labels - 1)));
  const float own = static_cast<float>(-std::log(gt_prob));
  const float unsure = static_cast<float>(-std::log(1.0 / num_labels));
  Unary u;
  u.labels = num_labels;
  u.energy.assign(static_cast<size_t>(num_labels) * n, other);
  for (size_t p = 0; p < n; ++p) {
    const int v = labels.labels[p];
    if (zero_unsure && v == 0) {
      for (int l = 0; l < num_labels; ++l)
        u.energy[static_cast<size_t>(l) * n + p] = unsure;
      continue;
    }
    const int l = zero_unsure ? v - 1 : v;
    PM_CHECK(l >= 0 && l < num_labels,
             "label {} at pixel {} is out of range for {} CRF labels",
             v,
             p,
             num_labels);
    u.energy[static_cast<size_t>(l) * n + p] = own;
  }
  return u;
}

}  // namespace pm
