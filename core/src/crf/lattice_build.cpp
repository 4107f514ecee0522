// SPDX-License-Identifier: MIT
// Construction of the permutohedral lattice (Adams et al. 2010), following the arithmetic of
// Krähenbühl's dense CRF code step by step in float, so that its outputs can be reproduced bit for
// bit: each point's enclosing simplex and barycentric weights, the hash table of vertex keys, and
// the blur neighbours of every vertex. Differences in structure: int32 keys (no overflow on large
// images), 64-bit sizes, a cache of recently seen simplices.
#include "pseudomask/core/crf/lattice.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "pseudomask/core/common/error.h"

namespace pm {
namespace {

constexpr int kMaxLatticeDim = 16;  // features per point; 5 for the bilateral CRF kernel

// Open-addressing hash table from d-dimensional int32 keys to dense vertex ids, inserting in
// first-seen order. Keys are stored contiguously (vertex v's key at keys[v*d]).
class KeyTable {
 public:
  /// `points` bounds the vertex count only loosely (DeepLab's lattices have a few vertices per
  /// hundred points, URN's about 1.1 per point), so the table starts small, where its probes stay
  /// in cache, and doubles as it fills.
  KeyTable(int d, size_t points) : d_(static_cast<size_t>(d)), stride_(static_cast<size_t>(d) + 1) {
    constexpr size_t kInitialCapacity = size_t{1} << 12;
    slots_.assign(kInitialCapacity * stride_, -1);
    keys_.reserve(std::min(points, kInitialCapacity) * d_);
  }

  /// The id of `key`, inserting it if `create`; -1 if absent and not created.
  int32_t find(const int32_t* key, bool create) {
    if (create && 2 * (size() + 1) > capacity())
      grow();
    const size_t mask = capacity() - 1;
    for (size_t h = hash(key) & mask;; h = (h + 1) & mask) {
      int32_t* slot = &slots_[h * stride_];  // [id, key...]: one cache line per probe
      if (slot[0] < 0) {
        if (!create)
          return -1;
        PM_CHECK(size() < static_cast<size_t>(std::numeric_limits<int32_t>::max() - 2),
                 "permutohedral lattice: more than 2^31 vertices");
        keys_.insert(keys_.end(), key, key + d_);
        std::copy(key, key + d_, slot + 1);
        return slot[0] = static_cast<int32_t>(size() - 1);
      }
      if (same_key(slot + 1, key))
        return slot[0];
    }
  }
  size_t size() const { return keys_.size() / d_; }
  /// Keys in id order (vertex v's key at keys()[v·d]).
  const std::vector<int32_t>& keys() const { return keys_; }

 private:
  size_t capacity() const { return slots_.size() / stride_; }
  bool same_key(const int32_t* a, const int32_t* b) const {
    for (size_t i = 0; i < d_; ++i) {
      if (a[i] != b[i])
        return false;
    }
    return true;
  }
  size_t hash(const int32_t* key) const {
    uint64_t h = 0x9E3779B97F4A7C15ull;
    for (size_t i = 0; i < d_; ++i) {
      h ^= static_cast<uint32_t>(key[i]);
      h *= 0xBF58476D1CE4E5B9ull;
      h ^= h >> 29;
    }
    return static_cast<size_t>(h);
  }
  void grow() {
    std::vector<int32_t> bigger(slots_.size() * 2, -1);
    const size_t mask = capacity() * 2 - 1;
    for (size_t v = 0; v < size(); ++v) {
      size_t h = hash(&keys_[v * d_]) & mask;
      while (bigger[h * stride_] >= 0)
        h = (h + 1) & mask;
      bigger[h * stride_] = static_cast<int32_t>(v);
      std::copy(&keys_[v * d_], &keys_[v * d_] + d_, &bigger[h * stride_ + 1]);
    }
    slots_.swap(bigger);
  }

  size_t d_;
  size_t stride_;
  std::vector<int32_t> slots_;  // capacity × (1 + d): id (−1 = free) and the key inline
  std::vector<int32_t> keys_;
};

// The simplex of one point: its remainder-0 vertex and the rank of each coordinate (which
// together determine the d+1 corners), and its barycentric weights.
struct Simplex {
  int32_t rem0[kMaxLatticeDim + 1];
  int32_t rank[kMaxLatticeDim + 1];
  float weights[kMaxLatticeDim + 2];
};

// Round to nearest, ties to even (what SSE rounding does), without a libm call: adding and
// subtracting 1.5·2^23 leaves the rounded value for |v| < 2^22.
inline float round_half_even(float v) {
  constexpr float kMagic = 12582912.0f;  // 1.5 · 2^23
  if (std::fabs(v) >= 4194304.0f)
    return std::nearbyint(v);
  const float t = v + kMagic;  // without -ffast-math the compiler keeps both roundings
  return t - kMagic;
}

// Per-dimension constants of the embedding (Adams et al. 2010, p. 5-6).
struct Embedding {
  int d;
  float scale[kMaxLatticeDim];
  float inv_d1;  // 1/(d+1)
  float d1;      // d+1
  int canonical[(kMaxLatticeDim + 1) * (kMaxLatticeDim + 1)];

  explicit Embedding(int dim)
      : d(dim), inv_d1(1.0f / static_cast<float>(dim + 1)), d1(static_cast<float>(dim + 1)) {
    // Expected standard deviation of the filter (p. 6) and the diagonal of E (p. 5).
    const float inv_std_dev = static_cast<float>(std::sqrt(2.0 / 3.0) * (d + 1));
    for (int i = 0; i < d; ++i) {
      scale[i] =
          static_cast<float>(1.0 / std::sqrt(static_cast<double>((i + 2) * (i + 1))) * inv_std_dev);
    }
    // The canonical simplex: corner r has coordinates r (first d+1-r) and r-(d+1) (the rest).
    for (int r = 0; r <= d; ++r) {
      for (int j = 0; j <= d; ++j)
        canonical[r * (d + 1) + j] = j <= d - r ? r : r - (d + 1);
    }
  }

  // Elevates f onto the hyperplane, finds the enclosing simplex and its barycentric weights.
  void locate(const float* f, Simplex& s) const {
    float elevated[kMaxLatticeDim + 1];
    float rem0[kMaxLatticeDim + 1];
    float rank[kMaxLatticeDim + 1];
    float sm = 0.0f;
    for (int j = d; j > 0; --j) {
      const float cf = f[j - 1] * scale[j - 1];
      elevated[j] = sm - static_cast<float>(j) * cf;
      sm += cf;
    }
    elevated[0] = sm;
    // Closest remainder-0 point, by rounding (half to even, as SSE rounding does).
    float sum = 0.0f;
    for (int i = 0; i <= d; ++i) {
      const float v = round_half_even(inv_d1 * elevated[i]);
      rem0[i] = v * d1;
      sum += v;
    }
    // Rank of each coordinate's remainder, then bring the point back onto the plane.
    for (int i = 0; i <= d; ++i)
      rank[i] = 0.0f;
    for (int i = 0; i < d; ++i) {
      const float di = elevated[i] - rem0[i];
      for (int j = i + 1; j <= d; ++j) {
        const float c = di < elevated[j] - rem0[j] ? 1.0f : 0.0f;
        rank[i] += c;
        rank[j] += 1.0f - c;
      }
    }
    for (int i = 0; i <= d; ++i) {
      rank[i] += sum;
      const float add = rank[i] < 0.0f ? d1 : 0.0f;
      const float sub = rank[i] >= d1 ? d1 : 0.0f;
      rank[i] += add - sub;
      rem0[i] += add - sub;
    }
    // Barycentric coordinates (p. 10).
    for (int i = 0; i <= d + 1; ++i)
      s.weights[i] = 0.0f;
    for (int i = 0; i <= d; ++i) {
      const float v = (elevated[i] - rem0[i]) * inv_d1;
      const int p = d - static_cast<int>(rank[i]);
      s.weights[p] += v;
      s.weights[p + 1] -= v;
    }
    s.weights[0] += 1.0f + s.weights[d + 1];
    for (int i = 0; i <= d; ++i) {
      s.rem0[i] = static_cast<int32_t>(rem0[i]);
      s.rank[i] = static_cast<int32_t>(rank[i]);
    }
  }

  // The key of corner r of simplex s (d ints).
  void corner_key(const Simplex& s, int r, int32_t* key) const {
    for (int i = 0; i < d; ++i)
      key[i] = s.rem0[i] + canonical[r * (d + 1) + s.rank[i]];
  }
};

// Neighbouring pixels often fall in the same simplex (always for smooth image regions), so a
// small direct-mapped cache from a simplex (remainder-0 vertex and ranks) to its d+1 vertex ids
// saves most hash-table lookups while building. It changes no result: a hit returns the ids the
// table would.
class SimplexCache {
 public:
  explicit SimplexCache(int d)
      : sig_(static_cast<size_t>(2 * (d + 1))),
        stride_(sig_ + static_cast<size_t>(d + 1) + 1),
        entries_(kEntries * stride_, 0) {}

  /// The cached vertex ids (index + 1) of `s`, or nullptr.
  const int32_t* find(const Simplex& s) {
    at_ = &entries_[slot(s) * stride_];
    if (at_[0] == 0 || !same(s, at_ + 1))
      return nullptr;
    return at_ + 1 + sig_;
  }
  /// Stores the ids of the simplex last passed to find().
  void store(const Simplex& s, const int32_t* ids) {
    at_[0] = 1;
    const size_t half = sig_ / 2;
    std::copy(s.rem0, s.rem0 + half, at_ + 1);
    std::copy(s.rank, s.rank + half, at_ + 1 + half);
    std::copy(ids, ids + half, at_ + 1 + sig_);
  }

 private:
  static constexpr size_t kEntries = 4096;
  size_t slot(const Simplex& s) const {
    uint32_t h = 2166136261u;
    const size_t half = sig_ / 2;
    for (size_t i = 0; i < half; ++i)
      h = (h ^ static_cast<uint32_t>(s.rem0[i] * 16 + s.rank[i])) * 16777619u;
    return (h ^ (h >> 15)) & (kEntries - 1);
  }
  bool same(const Simplex& s, const int32_t* e) const {
    const size_t half = sig_ / 2;
    for (size_t i = 0; i < half; ++i) {
      if (e[i] != s.rem0[i] || e[half + i] != s.rank[i])
        return false;
    }
    return true;
  }
  size_t sig_;     // rem0 and rank: 2(d+1) ints
  size_t stride_;  // valid flag, signature, d+1 ids
  std::vector<int32_t> entries_;
  int32_t* at_ = nullptr;
};

// Blur neighbours of every vertex along each of the d+1 lattice axes: the vertices at
// key ± (1, ..., 1, −d, 1, ..., 1) (axis j < d) or key ± (1, ..., 1) (axis d); index + 1, 0 = none.
std::vector<int32_t> blur_neighbors(KeyTable& table, int d) {
  const size_t m = table.size();
  const std::vector<int32_t>& keys = table.keys();  // lookups below never insert
  std::vector<int32_t> neighbors(static_cast<size_t>(d + 1) * m * 2);
  int32_t n1[kMaxLatticeDim + 1], n2[kMaxLatticeDim + 1];
  for (int j = 0; j <= d; ++j) {
    for (size_t v = 0; v < m; ++v) {
      const int32_t* key = &keys[v * static_cast<size_t>(d)];
      for (int k = 0; k < d; ++k) {
        n1[k] = key[k] - 1;
        n2[k] = key[k] + 1;
      }
      if (j < d) {
        n1[j] = key[j] + d;
        n2[j] = key[j] - d;
      }
      const size_t at = (static_cast<size_t>(j) * m + v) * 2;
      neighbors[at] = table.find(n1, /*create=*/false) + 1;
      neighbors[at + 1] = table.find(n2, /*create=*/false) + 1;
    }
  }
  return neighbors;
}

// Marks, per point corner, whether it is the first (in point order) to splat onto its vertex:
// that splat stores instead of adding, so the vertex table needs no clearing before a splat.
std::vector<uint8_t> first_touches(const std::vector<int32_t>& offsets, size_t m) {
  std::vector<uint8_t> seen(m + 1, 0), first(offsets.size(), 0);
  for (size_t k = 0; k < offsets.size(); ++k) {
    uint8_t& s = seen[static_cast<size_t>(offsets[k])];
    first[k] = s == 0;
    s = 1;
  }
  return first;
}

}  // namespace

PermutohedralLattice PermutohedralLattice::build(const float* features, size_t n, int d) {
  PM_CHECK(d >= 1 && d <= kMaxLatticeDim,
           "permutohedral lattice: {} feature dimensions (1..{})",
           d,
           kMaxLatticeDim);
  PM_CHECK(n < (size_t{1} << 32) / static_cast<size_t>(d + 1),
           "permutohedral lattice: {} points is more than this build supports",
           n);
  PermutohedralLattice lat;
  lat.n_ = n;
  lat.d_ = d;
  lat.alpha_ = 1.0f / (1.0f + std::pow(2.0f, static_cast<float>(-d)));
  const size_t d1 = static_cast<size_t>(d + 1);
  lat.offset_.resize(n * d1);
  lat.barycentric_.resize(n * d1);
  const Embedding emb(d);
  KeyTable table(d, n);
  SimplexCache cache(d);
  Simplex s;
  int32_t key[kMaxLatticeDim];
  for (size_t i = 0; i < n; ++i) {
    emb.locate(features + i * static_cast<size_t>(d), s);
    int32_t* ids = &lat.offset_[i * d1];
    if (const int32_t* cached = cache.find(s)) {
      std::copy(cached, cached + d1, ids);
    } else {
      for (size_t r = 0; r < d1; ++r) {
        emb.corner_key(s, static_cast<int>(r), key);
        ids[r] = table.find(key, /*create=*/true) + 1;
      }
      cache.store(s, ids);
    }
    std::copy(s.weights, s.weights + d1, &lat.barycentric_[i * d1]);
  }
  lat.m_ = table.size();
  lat.first_ = first_touches(lat.offset_, lat.m_);
  lat.neighbors_ = blur_neighbors(table, d);
  return lat;
}

}  // namespace pm
