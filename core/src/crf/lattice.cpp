// SPDX-License-Identifier: MIT
// Filtering with the permutohedral lattice (Adams et al. 2010): splat, blur and slice, following
// the arithmetic of Krähenbühl's dense CRF code step by step in float, so that its outputs can be
// reproduced bit for bit (the lattice itself is built in lattice_build.cpp). Differences in
// structure: 64-bit sizes, vector blocks, optional threads that split vertices (same sums for any
// count), and buffers reused across calls.
#include "pseudomask/core/crf/lattice.h"

#include <algorithm>
#include <cmath>

#include "pseudomask/core/common/error.h"
#include "pseudomask/core/common/parallel.h"
#include "simd8.h"
#include "slice.h"

namespace pm {

size_t PermutohedralLattice::memory_bytes() const {
  return offset_.size() * 4 + barycentric_.size() * 4 + neighbors_.size() * 4 + first_.size();
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
    int32_t v_begin,
    int32_t v_end,
    float* __restrict values,
    bool prefetch) {
  constexpr size_t kAhead = 4;  // points whose vertex rows are prefetched ahead of use
  for (size_t i = 0; i < n; ++i) {
    if (prefetch && i + kAhead < n) {
      for (size_t j = 0; j < d1; ++j) {
        detail::prefetch_row(
            values + static_cast<size_t>(offsets[(i + kAhead) * d1 + j]) * ch, ch, true);
      }
    }
    const float* __restrict src = in + i * ch;
    const float s = in_scale ? in_scale[i] : 1.0f;
    for (size_t j = 0; j < d1; ++j) {
      const int32_t o = offsets[i * d1 + j];
      if (o < v_begin || o >= v_end)
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

// Prefetches (for writing) the D1 vertex rows of point i + kSplatAhead, if there is one and the
// table is worth it (see worth_prefetching).
template <int D1, int NB>
PM_ALWAYS_INLINE void prefetch_splat_rows(
    const int32_t* __restrict offsets, size_t i, size_t n, float* values, bool prefetch) {
  constexpr size_t ch = NB * kChannelBlock;
  if (!prefetch || i + kSplatAhead >= n)
    return;
  for (int j = 0; j < D1; ++j) {
    detail::prefetch_row(
        values + static_cast<size_t>(offsets[(i + kSplatAhead) * D1 + j]) * ch, ch, true);
  }
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

// Stores the D1 vertex rows of NB blocks held in registers to the table.
template <int D1, int NB>
PM_ALWAYS_INLINE void store_rows(const int32_t* __restrict corners,
                                 const detail::f8 (&acc)[D1][NB],
                                 float* __restrict values) {
  for (int j = 0; j < D1; ++j) {
    for (int b = 0; b < NB; ++b) {
      detail::store8(values + (static_cast<size_t>(corners[j]) * NB + b) * kChannelBlock,
                     acc[j][b]);
    }
  }
}

// The splat of splat_all, specialised to D1 corners and rows of NB blocks, for one thread: while
// consecutive points share a simplex, its D1 vertex rows are summed in registers and stored once
// the simplex changes. Each vertex still adds its contributions one by one in point order, so the
// sums are bit for bit those of splat_all; what goes is the chain of stores and reloads of the
// same rows from one point to the next, which bounds splat_all on sparse lattices (DeepLab's, a
// few vertices per hundred pixels).
template <int D1, int NB>
__attribute__((target_clones("avx512f", "avx2", "default"))) void splat_runs(
    const int32_t* __restrict offsets,
    const float* __restrict weights,
    const uint8_t* __restrict first,
    size_t n,
    const float* __restrict in,
    const float* __restrict in_scale,
    float* __restrict values,
    bool prefetch) {
  using detail::f8;
  constexpr size_t ch = NB * kChannelBlock;
  f8 acc[D1][NB];
  const int32_t* held = nullptr;  // the corners whose rows acc holds
  for (size_t i = 0; i < n; ++i) {
    const int32_t* corners = offsets + i * D1;
    prefetch_splat_rows<D1, NB>(offsets, i, n, values, prefetch);
    f8 x[NB];
    load_scaled_row<NB>(in, in_scale, i, x);
    const bool same = held && same_corners<D1>(held, corners);
    if (held && !same)
      store_rows<D1, NB>(held, acc, values);
    for (int j = 0; j < D1; ++j) {
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
    held = corners;
  }
  if (held)
    store_rows<D1, NB>(held, acc, values);
}

// splat_all specialised to D1 corners and rows of NB blocks, for one thread: the same stores and
// additions in the same order, with the corner and block loops unrolled. For rows too wide to
// hold a simplex's rows in registers (splat_runs).
template <int D1, int NB>
__attribute__((target_clones("avx512f", "avx2", "default"))) void splat_points(
    const int32_t* __restrict offsets,
    const float* __restrict weights,
    const uint8_t* __restrict first,
    size_t n,
    const float* __restrict in,
    const float* __restrict in_scale,
    float* __restrict values,
    bool prefetch) {
  using detail::f8;
  constexpr size_t ch = NB * kChannelBlock;
  for (size_t i = 0; i < n; ++i) {
    const int32_t* corners = offsets + i * D1;
    prefetch_splat_rows<D1, NB>(offsets, i, n, values, prefetch);
    f8 x[NB];
    load_scaled_row<NB>(in, in_scale, i, x);
    for (int j = 0; j < D1; ++j) {
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

// splat_runs (rows of at most kMaxRunBlocks blocks) or splat_points (up to kMaxPointBlocks) for
// the CRF's lattices (2-d positions, 5-d bilateral features); false (nothing done) for any other
// shape.
bool splat_if_specialised(const int32_t* offsets,
                          const float* weights,
                          const uint8_t* first,
                          size_t n,
                          size_t d1,
                          const float* in,
                          const float* in_scale,
                          size_t ch,
                          float* values,
                          bool prefetch) {
  const size_t blocks = ch / kChannelBlock;
  if (ch % kChannelBlock != 0 || blocks > kMaxPointBlocks || (d1 != 3 && d1 != 6))
    return false;
  if (blocks > kMaxRunBlocks) {
    detail::with_block_count<kMaxRunBlocks + 1, kMaxPointBlocks>(blocks, [&](auto nb) {
      constexpr int kNb = decltype(nb)::value;
      if (d1 == 3)
        splat_points<3, kNb>(offsets, weights, first, n, in, in_scale, values, prefetch);
      else
        splat_points<6, kNb>(offsets, weights, first, n, in, in_scale, values, prefetch);
    });
    return true;
  }
  detail::with_block_count<1, kMaxRunBlocks>(blocks, [&](auto nb) {
    constexpr int kNb = decltype(nb)::value;
    if (d1 == 3)
      splat_runs<3, kNb>(offsets, weights, first, n, in, in_scale, values, prefetch);
    else
      splat_runs<6, kNb>(offsets, weights, first, n, in, in_scale, values, prefetch);
  });
  return true;
}

__attribute__((target_clones("avx512f", "avx2", "default"))) static void blur_axis(
    const int32_t* __restrict neighbors,
    size_t v_begin,
    size_t v_end,
    int channels,
    const float* __restrict old_values,
    float* __restrict new_values,
    bool prefetch) {
  const size_t ch = static_cast<size_t>(channels);
  constexpr size_t kAhead = 12;  // vertices whose neighbours' rows are prefetched ahead of use
  for (size_t v = v_begin; v < v_end; ++v) {
    if (prefetch && v + kAhead < v_end) {
      detail::prefetch_row(old_values + static_cast<size_t>(neighbors[2 * (v + kAhead)]) * ch, ch);
      detail::prefetch_row(old_values + static_cast<size_t>(neighbors[2 * (v + kAhead) + 1]) * ch,
                           ch);
    }
    const float* __restrict self = old_values + (v + 1) * ch;
    const float* __restrict a = old_values + static_cast<size_t>(neighbors[2 * v]) * ch;
    const float* __restrict b = old_values + static_cast<size_t>(neighbors[2 * v + 1]) * ch;
    float* __restrict out = new_values + (v + 1) * ch;
    if (ch % kChannelBlock == 0) {
      for (size_t c = 0; c < ch; c += kChannelBlock) {
        detail::store8(
            out + c,
            detail::load8(self + c) + 0.5f * (detail::load8(a + c) + detail::load8(b + c)));
      }
    } else {
      for (size_t c = 0; c < ch; ++c)
        out[c] = self[c] + 0.5f * (a[c] + b[c]);
    }
  }
}

void PermutohedralLattice::splat_and_blur(
    const float* in, const float* in_scale, int channels, LatticeWorkspace& ws, int threads) const {
  const size_t ch = static_cast<size_t>(channels);
  const size_t size = (m_ + 1) * ch;
  if (ws.values.size() < size)
    ws.values.resize(size);
  if (ws.scratch.size() < size)
    ws.scratch.resize(size);
  // Row 0 stands for "no neighbour" and stays 0; every other row is written by the splat.
  std::fill(ws.scratch.begin(), ws.scratch.begin() + static_cast<std::ptrdiff_t>(ch), 0.0f);
  std::fill(ws.values.begin(), ws.values.begin() + static_cast<std::ptrdiff_t>(ch), 0.0f);
  // Splat: threads split the vertices (each scans every point but adds only to its own vertex
  // rows, in point order), so no two threads write the same cache line and the sums do not
  // depend on the thread count.
  const size_t tasks = std::max<size_t>(1, std::min(m_, static_cast<size_t>(std::max(threads, 1))));
  const bool prefetch = detail::worth_prefetching(size * sizeof(float));  // rows of the table
  const bool specialised = tasks == 1 && splat_if_specialised(offset_.data(),
                                                              barycentric_.data(),
                                                              first_.data(),
                                                              n_,
                                                              static_cast<size_t>(d_ + 1),
                                                              in,
                                                              in_scale,
                                                              ch,
                                                              ws.values.data(),
                                                              prefetch);
  if (!specialised) {
    parallel_for(tasks, threads, [&](size_t t) {
      splat_all(offset_.data(),
                barycentric_.data(),
                first_.data(),
                n_,
                static_cast<size_t>(d_ + 1),
                in,
                in_scale,
                ch,
                static_cast<int32_t>(1 + m_ * t / tasks),
                static_cast<int32_t>(1 + m_ * (t + 1) / tasks),
                ws.values.data(),
                prefetch);
    });
  }
  // Blur: threads split the vertices of each axis.
  for (int j = 0; j <= d_; ++j) {
    const int32_t* neighbors = neighbors_.data() + static_cast<size_t>(j) * m_ * 2;  // m_ may be 0
    parallel_for(tasks, threads, [&](size_t t) {
      blur_axis(neighbors,
                m_ * t / tasks,
                m_ * (t + 1) / tasks,
                channels,
                ws.values.data(),
                ws.scratch.data(),
                prefetch);
    });
    ws.values.swap(ws.scratch);
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
