// SPDX-License-Identifier: MIT
// Filtering with the permutohedral lattice (Adams et al. 2010): splat, blur and slice, following
// the arithmetic of Krähenbühl's dense CRF code step by step in float, so that its outputs can be
// reproduced bit for bit (the lattice itself is built in lattice_build.cpp). Differences in
// structure: 64-bit sizes, vector blocks, optional threads that split vertices (same sums for any
// count), and buffers reused across calls.
#include "pseudomask/core/crf/lattice.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "buffer.h"
#include "pseudomask/core/common/error.h"
#include "pseudomask/core/common/parallel.h"
#include "simd8.h"
#include "slice.h"

namespace pm {

size_t PermutohedralLattice::memory_bytes() const {
  return offset_.size() * 4 + barycentric_.size() * 4 + chains_.size() * 4 + first_.size();
}

// The part of a splat one thread does: the vertex rows [o_begin, o_end) (offsets, vertex index
// + 1), from point p_begin on. Vertices are numbered in the order the points first reach them,
// so no point before the one that created row o_begin reaches any row of the share.
struct SplatShare {
  size_t p_begin = 0;
  int32_t o_begin = 1;
  int32_t o_end = std::numeric_limits<int32_t>::max();
  PM_ALWAYS_INLINE bool owns(int32_t o) const { return o >= o_begin && o < o_end; }
};

// Whether row o is the share's; always, without a test, when the share is the whole splat
// (kWhole: one thread), which keeps the single-thread splats free of ownership tests.
template <bool kWhole>
PM_ALWAYS_INLINE bool owns(const SplatShare& share, int32_t o) {
  return kWhole || share.owns(o);
}

// The splat, in the reference's order: points in sequence, each adding w · (in · scale) to its
// d+1 vertices' rows (so every vertex sums its contributions in ascending point order); the first
// contribution to a vertex is stored (0 + x = x), so the table needs no clearing. Reads stream
// through `in`; writes go to the vertex table (which falls out of cache for dense lattices such
// as URN's, 8–35 MB: the main cost there).
__attribute__((target_clones("avx512f", "avx2", "default"))) static void splat_all(
    const int32_t* __restrict offsets,
    const float* __restrict weights,
    const uint8_t* __restrict first,
    size_t n,
    size_t d1,
    const float* __restrict in,
    const float* __restrict in_scale,
    size_t ch,
    const SplatShare& share,
    float* __restrict values,
    bool prefetch) {
  constexpr size_t kAhead = 4;  // points whose vertex rows are prefetched ahead of use
  for (size_t i = share.p_begin; i < n; ++i) {
    if (prefetch && i + kAhead < n) {
      for (size_t j = 0; j < d1; ++j) {
        const int32_t o = offsets[(i + kAhead) * d1 + j];
        if (share.owns(o))
          detail::prefetch_row(values + static_cast<size_t>(o) * ch, ch, true);
      }
    }
    const float* __restrict src = in + i * ch;
    const float s = in_scale ? in_scale[i] : 1.0f;
    for (size_t j = 0; j < d1; ++j) {
      const int32_t o = offsets[i * d1 + j];
      if (!share.owns(o))
        continue;  // another thread's vertex
      float* __restrict row = values + static_cast<size_t>(o) * ch;
      const float w = weights[i * d1 + j];
      const bool store = first[i * d1 + j] != 0;
      if (ch % kChannelBlock == 0) {  // 8-float blocks, no scalar tail
        for (size_t c = 0; c < ch; c += kChannelBlock) {
          const detail::f8 term = w * (detail::load8(src + c) * s);
          detail::store8(row + c, store ? term : detail::load8(row + c) + term);
        }
      } else {
        for (size_t c = 0; c < ch; ++c)
          row[c] = store ? w * (src[c] * s) : row[c] + w * (src[c] * s);
      }
    }
  }
}

// Whether point i's d+1 corners are those of the point before it (the same simplex, as most
// neighbouring pixels in smooth regions are).
template <int D1>
PM_ALWAYS_INLINE bool same_corners(const int32_t* __restrict a, const int32_t* __restrict b) {
  bool same = true;
  for (int j = 0; j < D1; ++j)
    same &= a[j] == b[j];
  return same;
}

// Points whose vertex rows the specialised splats prefetch ahead of use.
constexpr size_t kSplatAhead = 4;

// Prefetches (for writing) the share's vertex rows of point i + kSplatAhead, if there is one and
// the table is worth it (see worth_prefetching). Rows of other shares are left alone: fetching
// them for writing would pull cache lines away from the thread that writes them.
template <int D1, int NB, bool kWhole>
PM_ALWAYS_INLINE void prefetch_splat_rows(const int32_t* __restrict offsets,
                                          size_t i,
                                          size_t n,
                                          const SplatShare& share,
                                          float* values,
                                          bool prefetch) {
  constexpr size_t ch = NB * kChannelBlock;
  if (!prefetch || i + kSplatAhead >= n)
    return;
  for (int j = 0; j < D1; ++j) {
    const int32_t o = offsets[(i + kSplatAhead) * D1 + j];
    if (owns<kWhole>(share, o))
      detail::prefetch_row(values + static_cast<size_t>(o) * ch, ch, true);
  }
}

// Which of a point's D1 corners are the share's; true if any.
template <int D1, bool kWhole>
PM_ALWAYS_INLINE bool owned_corners(const int32_t* __restrict corners,
                                    const SplatShare& share,
                                    bool (&owned)[D1]) {
  bool any = false;
  for (int j = 0; j < D1; ++j) {
    owned[j] = owns<kWhole>(share, corners[j]);
    any |= owned[j];
  }
  return any;
}

// Point i's row of NB blocks times its scale (in · s, the splat's first product).
template <int NB>
PM_ALWAYS_INLINE void load_scaled_row(const float* __restrict in,
                                      const float* __restrict in_scale,
                                      size_t i,
                                      detail::f8 (&x)[NB]) {
  const float s = in_scale ? in_scale[i] : 1.0f;
  for (int b = 0; b < NB; ++b)
    x[b] = detail::load8(in + (i * NB + b) * kChannelBlock) * s;
}

// Stores the owned ones of D1 vertex rows of NB blocks held in registers to the table.
template <int D1, int NB, bool kWhole>
PM_ALWAYS_INLINE void store_rows(const int32_t* __restrict corners,
                                 const bool (&owned)[D1],
                                 const detail::f8 (&acc)[D1][NB],
                                 float* __restrict values) {
  for (int j = 0; j < D1; ++j) {
    if (!kWhole && !owned[j])
      continue;
    for (int b = 0; b < NB; ++b) {
      detail::store8(values + (static_cast<size_t>(corners[j]) * NB + b) * kChannelBlock,
                     acc[j][b]);
    }
  }
}

// The splat of splat_all, specialised to D1 corners and rows of NB blocks: while consecutive
// points share a simplex, its D1 vertex rows are summed in registers and stored once the simplex
// changes. Each vertex still adds its contributions one by one in point order, so the sums are
// bit for bit those of splat_all; what goes is the chain of stores and reloads of the same rows
// from one point to the next, which bounds splat_all on sparse lattices (DeepLab's, a few vertices
// per hundred pixels).
template <int D1, int NB, bool kWhole>
__attribute__((target_clones("avx512f", "avx2", "default"))) void splat_runs(
    const int32_t* __restrict offsets,
    const float* __restrict weights,
    const uint8_t* __restrict first,
    size_t n,
    const float* __restrict in,
    const float* __restrict in_scale,
    const SplatShare& share,
    float* __restrict values,
    bool prefetch) {
  using detail::f8;
  constexpr size_t ch = NB * kChannelBlock;
  f8 acc[D1][NB];
  bool owned[D1] = {};
  bool any = false;
  const int32_t* held = nullptr;  // the corners whose rows acc holds
  for (size_t i = share.p_begin; i < n; ++i) {
    const int32_t* corners = offsets + i * D1;
    const bool same = held && same_corners<D1>(held, corners);
    if (!same) {
      if (held && (kWhole || any))
        store_rows<D1, NB, kWhole>(held, owned, acc, values);
      any = owned_corners<D1, kWhole>(corners, share, owned);
    }
    held = corners;
    if (!kWhole && !any)
      continue;
    prefetch_splat_rows<D1, NB, kWhole>(offsets, i, n, share, values, prefetch);
    f8 x[NB];
    load_scaled_row<NB>(in, in_scale, i, x);
    for (int j = 0; j < D1; ++j) {
      if (!kWhole && !owned[j])
        continue;
      const float w = weights[i * D1 + j];
      const float* row = values + static_cast<size_t>(corners[j]) * ch;
      const bool store = first[i * D1 + j] != 0;
      for (int b = 0; b < NB; ++b) {
        const f8 term = w * x[b];
        if (same)
          acc[j][b] = acc[j][b] + term;
        else
          acc[j][b] = store ? term : detail::load8(row + b * kChannelBlock) + term;
      }
    }
  }
  if (held && (kWhole || any))
    store_rows<D1, NB, kWhole>(held, owned, acc, values);
}

// splat_all specialised to D1 corners and rows of NB blocks: the same stores and additions in the
// same order, with the corner and block loops unrolled. For rows too wide to hold a simplex's rows
// in registers (splat_runs).
template <int D1, int NB, bool kWhole>
__attribute__((target_clones("avx512f", "avx2", "default"))) void splat_points(
    const int32_t* __restrict offsets,
    const float* __restrict weights,
    const uint8_t* __restrict first,
    size_t n,
    const float* __restrict in,
    const float* __restrict in_scale,
    const SplatShare& share,
    float* __restrict values,
    bool prefetch) {
  using detail::f8;
  constexpr size_t ch = NB * kChannelBlock;
  for (size_t i = share.p_begin; i < n; ++i) {
    const int32_t* corners = offsets + i * D1;
    bool owned[D1];
    if (!owned_corners<D1, kWhole>(corners, share, owned))
      continue;
    prefetch_splat_rows<D1, NB, kWhole>(offsets, i, n, share, values, prefetch);
    f8 x[NB];
    load_scaled_row<NB>(in, in_scale, i, x);
    for (int j = 0; j < D1; ++j) {
      if (!kWhole && !owned[j])
        continue;
      const float w = weights[i * D1 + j];
      float* __restrict row = values + static_cast<size_t>(corners[j]) * ch;
      const bool store = first[i * D1 + j] != 0;
      for (int b = 0; b < NB; ++b) {
        const f8 term = w * x[b];
        detail::store8(row + b * kChannelBlock,
                       store ? term : detail::load8(row + b * kChannelBlock) + term);
      }
    }
  }
}

// Rows of up to this many blocks take splat_points.
constexpr size_t kMaxPointBlocks = 8;

// Rows of up to this many blocks take splat_runs (its accumulators must fit in registers).
constexpr size_t kMaxRunBlocks = 4;

// splat_runs for rows of at most kMaxRunBlocks blocks, else splat_points; compiled for a whole
// splat (one thread) and for a share of one.
template <int D1, int NB>
void splat_specialised(const int32_t* offsets,
                       const float* weights,
                       const uint8_t* first,
                       size_t n,
                       const float* in,
                       const float* in_scale,
                       const SplatShare& share,
                       bool whole,
                       float* values,
                       bool prefetch) {
  auto splat = [&](auto whole_tag) {
    constexpr bool kWhole = decltype(whole_tag)::value;
    if constexpr (NB <= static_cast<int>(kMaxRunBlocks))
      splat_runs<D1, NB, kWhole>(offsets, weights, first, n, in, in_scale, share, values, prefetch);
    else
      splat_points<D1, NB, kWhole>(
          offsets, weights, first, n, in, in_scale, share, values, prefetch);
  };
  if (whole)
    splat(std::true_type{});
  else
    splat(std::false_type{});
}

// The specialised splat for the CRF's lattices (2-d positions, 5-d bilateral features) and rows
// of up to kMaxPointBlocks blocks; false (nothing done) for any other shape.
bool splat_if_specialised(const int32_t* offsets,
                          const float* weights,
                          const uint8_t* first,
                          size_t n,
                          size_t d1,
                          const float* in,
                          const float* in_scale,
                          size_t ch,
                          const SplatShare& share,
                          bool whole,
                          float* values,
                          bool prefetch) {
  const size_t blocks = ch / kChannelBlock;
  if (ch % kChannelBlock != 0 || blocks > kMaxPointBlocks || (d1 != 3 && d1 != 6))
    return false;
  detail::with_block_count<1, kMaxPointBlocks>(blocks, [&](auto nb) {
    constexpr int kNb = decltype(nb)::value;
    if (d1 == 3)
      splat_specialised<3, kNb>(
          offsets, weights, first, n, in, in_scale, share, whole, values, prefetch);
    else
      splat_specialised<6, kNb>(
          offsets, weights, first, n, in, in_scale, share, whole, values, prefetch);
  });
  return true;
}

// The blur along one lattice axis for the chains in entries [begin, end) of that axis's chain
// list (whole chains), in place: each vertex row becomes self + ½(before + after), with before and
// after its chain neighbours' rows before this axis's blur (row 0, all zero, where there is none).
// Walking a chain in order, `before` is the row just overwritten, kept in `prev`, and `after` is
// still unchanged, so the sums are those of a blur from one buffer into another, in the same float
// order, bit for bit, without a second table of m rows per channel.
__attribute__((target_clones("avx512f", "avx2", "default"))) static void blur_chains_in_place(
    const int32_t* __restrict chain,
    size_t begin,
    size_t end,
    size_t ch,
    float* values,
    float* __restrict prev,
    bool prefetch) {
  constexpr size_t kAhead = 12;  // entries whose rows are prefetched ahead of use
  const float* zero = values;    // row 0
  for (size_t i = begin; i < end; ++i) {
    if (prefetch && i + kAhead < end) {
      const int32_t ahead = chain[i + kAhead];
      detail::prefetch_row(values + static_cast<size_t>(ahead < 0 ? -ahead : ahead) * ch, ch);
    }
    const int32_t entry = chain[i];
    const bool head = entry < 0;
    float* self = values + static_cast<size_t>(head ? -entry : entry) * ch;
    const float* before = head ? zero : prev;
    const bool has_after = i + 1 < end && chain[i + 1] > 0;
    const float* after = has_after ? values + static_cast<size_t>(chain[i + 1]) * ch : zero;
    if (ch % kChannelBlock == 0) {
      for (size_t c = 0; c < ch; c += kChannelBlock) {
        const auto a = detail::load8(before + c);
        const auto s = detail::load8(self + c);
        const auto b = detail::load8(after + c);
        detail::store8(prev + c, s);
        detail::store8(self + c, s + 0.5f * (a + b));
      }
    } else {
      for (size_t c = 0; c < ch; ++c) {
        const float a = before[c];
        const float s = self[c];
        prev[c] = s;
        self[c] = s + 0.5f * (a + after[c]);
      }
    }
  }
}

// The first entry at or after `pos` that starts a chain (or `m`).
static size_t chain_start_from(const int32_t* chain, size_t m, size_t pos) {
  while (pos < m && chain[pos] > 0)
    ++pos;
  return pos;
}

// The point whose first-splat flag created the count-th vertex (flags in point order, d1 per
// point); 0, a start that is always safe, if fewer vertices were created. Whole chunks of flags
// are counted first, in 8-bit sums that vectorise (a chunk holds at most 255 ones; about 40 times
// faster in a microbenchmark than the flag-by-flag scan that finishes the search).
static size_t point_creating_vertex(const std::vector<uint8_t>& first, size_t d1, size_t count) {
  constexpr size_t kChunk = 255;
  size_t created = 0;
  size_t k = 0;
  for (; k + kChunk <= first.size(); k += kChunk) {
    uint8_t c = 0;
    for (size_t i = k; i < k + kChunk; ++i)
      c = static_cast<uint8_t>(c + first[i]);
    if (created + c >= count)
      break;
    created += c;
  }
  for (; k < first.size(); ++k) {
    created += first[k];
    if (created == count)
      return k / d1;
  }
  return 0;
}

// Share t of `tasks` of the splat onto m vertices: an equal part of the vertex rows, from the
// point that created the first of them (see SplatShare).
static SplatShare splat_share(
    const std::vector<uint8_t>& first, size_t m, size_t d1, size_t t, size_t tasks) {
  SplatShare share;
  share.o_begin = static_cast<int32_t>(1 + m * t / tasks);
  share.o_end = static_cast<int32_t>(1 + m * (t + 1) / tasks);
  if (t > 0)  // row o_begin is vertex o_begin − 1, the o_begin-th created
    share.p_begin = point_creating_vertex(first, d1, static_cast<size_t>(share.o_begin));
  return share;
}

void PermutohedralLattice::splat_and_blur(
    const float* in, const float* in_scale, int channels, LatticeWorkspace& ws, int threads) const {
  const size_t ch = static_cast<size_t>(channels);
  const size_t size = (m_ + 1) * ch;
  detail::grow_discarding(ws.values, size);
  // Row 0 stands for "no neighbour" and stays 0; every other row is written by the splat.
  std::fill(ws.values.begin(), ws.values.begin() + static_cast<std::ptrdiff_t>(ch), 0.0f);
  // Splat: threads split the vertices (each adds only to its own vertex rows, in point order, from
  // the first point that reaches them), so no two threads write the same cache line and the sums
  // do not depend on the thread count.
  const size_t tasks = std::max<size_t>(1, std::min(m_, static_cast<size_t>(std::max(threads, 1))));
  const bool prefetch = detail::worth_prefetching(size * sizeof(float));  // rows of the table
  parallel_for(tasks, threads, [&](size_t t) {
    const size_t d1 = static_cast<size_t>(d_ + 1);
    const SplatShare share = splat_share(first_, m_, d1, t, tasks);
    const float* w = barycentric_.data();
    float* values = ws.values.data();
    const bool whole = tasks == 1;
    if (!splat_if_specialised(offset_.data(),
                              w,
                              first_.data(),
                              n_,
                              d1,
                              in,
                              in_scale,
                              ch,
                              share,
                              whole,
                              values,
                              prefetch))
      splat_all(
          offset_.data(), w, first_.data(), n_, d1, in, in_scale, ch, share, values, prefetch);
  });
  // Blur: threads split each axis's chains (a chain is blurred by one thread, in place).
  for (size_t j = 0; j <= static_cast<size_t>(d_); ++j) {
    const int32_t* chain = chains_.data() + j * m_;  // m_ may be 0
    parallel_for(tasks, threads, [&](size_t t) {
      std::vector<float> prev(ch);
      blur_chains_in_place(chain,
                           chain_start_from(chain, m_, m_ * t / tasks),
                           chain_start_from(chain, m_, m_ * (t + 1) / tasks),
                           ch,
                           ws.values.data(),
                           prev.data(),
                           prefetch);
    });
  }
}

void PermutohedralLattice::filter(const float* in,
                                  int channels,
                                  float* out,
                                  LatticeWorkspace& ws) const {
  splat_and_blur(in, /*in_scale=*/nullptr, channels, ws);
  const size_t d1 = static_cast<size_t>(d_ + 1);
  const size_t ch = static_cast<size_t>(channels);
  const SliceOrder order = reference_slice_order(channels);
  for (size_t i = 0; i < n_; ++i) {
    detail::slice_corners(&offset_[i * d1],
                          &barycentric_[i * d1],
                          d1,
                          alpha_,
                          ws.values.data(),
                          ch,
                          order,
                          out + i * ch);
  }
}

}  // namespace pm
