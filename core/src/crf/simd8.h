// SPDX-License-Identifier: MIT
#pragma once
// Blocks of 8 floats as GCC vector-extension types. Each target_clones variant lowers them to its
// own instructions (two SSE registers, one AVX register, half an AVX-512 register), and since
// every operation is elementwise and FMA contraction is off, all variants compute the same bits
// as the scalar code they replace.

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <type_traits>

// The 32-byte vector type is passed by value only between always-inline helpers, so GCC's note
// that baseline (non-AVX) code passes it differently from AVX code does not apply.
#pragma GCC diagnostic ignored "-Wpsabi"

/// Helpers called from target_clones kernels must be inlined into each clone, or they run as
/// baseline code (and pass 32-byte vectors through memory).
#define PM_ALWAYS_INLINE inline __attribute__((always_inline))

namespace pm::detail {

typedef float f8 __attribute__((vector_size(32)));
typedef int32_t i8 __attribute__((vector_size(32)));

PM_ALWAYS_INLINE f8 load8(const float* p) {
  f8 v;
  std::memcpy(&v, p, sizeof(v));
  return v;
}
PM_ALWAYS_INLINE void store8(float* p, f8 v) {
  std::memcpy(p, &v, sizeof(v));
}
PM_ALWAYS_INLINE f8 splat8(float x) {
  return f8{x, x, x, x, x, x, x, x};
}

/// Asks for the cache lines of a row of `n` floats ahead of use. Lattice rows are reached through
/// index tables (a pixel's simplex corners, a vertex's blur neighbours), which hardware prefetchers
/// cannot follow; on dense lattices (URN's) the rows live in tables far larger than the cache.
PM_ALWAYS_INLINE void prefetch_row(const float* row, size_t n, bool for_write = false) {
  constexpr size_t kLine = 64 / sizeof(float);
  for (size_t c = 0; c < n; c += kLine) {
    if (for_write)
      __builtin_prefetch(row + c, 1, 3);
    else
      __builtin_prefetch(row + c, 0, 3);
  }
}

/// Whether rows of a table of `bytes` are worth prefetching: tables that fit in a core's L2
/// (1 MB on this machine class; DeepLab's lattices on VOC-sized images) are served quickly
/// enough that the prefetch instructions cost more than they save.
PM_ALWAYS_INLINE bool worth_prefetching(size_t bytes) {
  constexpr size_t kL2Bytes = size_t{1} << 20;
  return bytes > kL2Bytes;
}

/// Sum of the 8 lanes in a fixed pairwise order.
PM_ALWAYS_INLINE float horizontal_sum(f8 v) {
  return ((v[0] + v[1]) + (v[2] + v[3])) + ((v[4] + v[5]) + (v[6] + v[7]));
}

/// Largest of the 8 lanes.
PM_ALWAYS_INLINE float horizontal_max(f8 v) {
  float m = v[0];
  for (int i = 1; i < 8; ++i)
    m = v[i] > m ? v[i] : m;
  return m;
}

/// exp(x) for x ≤ 0, 8 lanes at once: Cody–Waite reduction x = m·ln2 + r and the degree-6
/// minimax polynomial of Cephes' expf for e^r on |r| ≤ ln2/2 (about 1 ulp). Results below 2^-125
/// flush to 0, which cannot change a softmax whose largest term is 1.
PM_ALWAYS_INLINE f8 exp8_nonpositive(f8 x) {
  const i8 tiny = x < splat8(-87.0f);
  x = tiny ? splat8(-87.0f) : x;
  const i8 mi = __builtin_convertvector(x * 1.44269504088896341f - 0.5f, i8);  // truncation
  const f8 m = __builtin_convertvector(mi, f8);
  f8 r = x - m * 0.693359375f;
  r = r - m * -2.12194440e-4f;
  const f8 r2 = r * r;
  f8 p = splat8(1.9875691500e-4f);
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  const f8 y = p * r2 + r + 1.0f;
  const i8 bits = (mi + 127) << 23;
  f8 scale;
  std::memcpy(&scale, &bits, sizeof(scale));
  return tiny ? splat8(0.0f) : y * scale;
}

/// Calls call(std::integral_constant<int, NB>) with NB = min(max(blocks, NB), Max): turns a
/// run-time block count into the template argument of a kernel specialised to it.
template <int NB, int Max, typename Call>
void with_block_count(size_t blocks, const Call& call) {
  if constexpr (NB < Max) {
    if (blocks > static_cast<size_t>(NB))
      return with_block_count<NB + 1, Max>(blocks, call);
  }
  call(std::integral_constant<int, NB>{});
}

}  // namespace pm::detail
