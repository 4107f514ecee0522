// SPDX-License-Identifier: MIT
// Construction of the permutohedral lattice (Adams et al. 2010), following the arithmetic of
// Krähenbühl's dense CRF code step by step in float, so that its outputs can be reproduced bit for
// bit: each point's enclosing simplex and barycentric weights, the hash table of vertex keys, and
// the blur neighbours of every vertex. Differences in structure: int32 keys (no overflow on large
// images), 64-bit sizes, a cache of recently seen simplices, points located 8 at a time (vector
// lanes, same float operations), and hash-table lookups in batches whose slots are prefetched
// first (the tables of URN's lattices are megabytes, far beyond L2).
#include "pseudomask/core/crf/lattice.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

#include "pseudomask/core/common/error.h"
#include "simd8.h"

namespace pm {
namespace {

constexpr int kMaxLatticeDim = 16;  // features per point; 5 for the bilateral CRF kernel

// Open-addressing hash table (linear probing) from d-dimensional int32 keys to dense vertex ids,
// inserting in first-seen order; ids are what matter, so the table's layout and hash are free.
// Keys are also kept contiguously in id order (vertex v's key at keys()[v·d]).
//
// The lattices of the CRF presets outgrow the cache (URN's: 6 MB of slots), so callers hash a
// batch of keys first, prefetch their slots, and then probe with the hashes (find / insert take
// the hash), letting the cache misses of a batch overlap. A key's home slot is given by the top
// bits of its hash, so doubling the table sends old slot i to new slot 2i or 2i+1: growth sweeps
// both tables in order instead of scattering writes.
class KeyTable {
 public:
  /// `points` bounds the vertex count only loosely (DeepLab's lattices have a few vertices per
  /// hundred points, URN's about 1.1 per point), so the table starts small, where its probes stay
  /// in cache, and doubles as it fills.
  KeyTable(int d, size_t points) : d_(static_cast<size_t>(d)), stride_(static_cast<size_t>(d) + 1) {
    constexpr int kInitialBits = 12;
    resize_slots(kInitialBits);
    keys_.reserve(std::min(points, capacity()) * d_);
  }

  /// A key's hash is mix(key_sum(key)), with key_sum linear in the key: blur neighbours, which
  /// differ from their vertex by fixed steps, get their sums by one addition.
  uint64_t hash(const int32_t* key) const { return mix(key_sum(key)); }
  uint64_t key_sum(const int32_t* key) const {
    uint64_t h = 0;
    for (size_t i = 0; i < d_; ++i)
      h += static_cast<uint64_t>(static_cast<int64_t>(key[i])) * kFactors[i];
    return h;
  }
  /// key_sum of the key with coordinate i one more.
  static uint64_t factor(size_t i) { return kFactors[i]; }
  /// Murmur3's finaliser: every bit of the sum reaches the top bits, which pick the slot.
  static uint64_t mix(uint64_t h) {
    h ^= h >> 33;
    h *= 0xFF51AFD7ED558CCDull;
    h ^= h >> 33;
    h *= 0xC4CEB9FE1A85EC53ull;
    h ^= h >> 33;
    return h;
  }
  /// Starts loading the home slot of a key with hash `h`.
  void prefetch(uint64_t h) const { __builtin_prefetch(&slots_[home(h) * stride_]); }
  /// Grows the table now, if needed, so that `more` inserts will not (keeping prefetches valid).
  void reserve_for(size_t more) {
    while (2 * (size() + more) > capacity())
      grow();
  }

  /// The id of `key` (hash `h`), or -1.
  int32_t find(const int32_t* key, uint64_t h) const {
    for (size_t i = home(h);; i = (i + 1) & mask_) {
      const int32_t* slot = &slots_[i * stride_];  // [id, key...]: one cache line per probe
      if (slot[0] < 0 || same_key(slot + 1, key))
        return slot[0];
    }
  }
  /// The id of `key` (hash `h`), inserting it if absent (`created` then set). Needs room, see
  /// reserve_for.
  int32_t insert(const int32_t* key, uint64_t h, bool& created) {
    for (size_t i = home(h);; i = (i + 1) & mask_) {
      int32_t* slot = &slots_[i * stride_];
      if (slot[0] < 0) {
        PM_CHECK(size() < static_cast<size_t>(std::numeric_limits<int32_t>::max() - 2),
                 "permutohedral lattice: more than 2^31 vertices");
        keys_.insert(keys_.end(), key, key + d_);
        std::copy(key, key + d_, slot + 1);
        created = true;
        return slot[0] = static_cast<int32_t>(size() - 1);
      }
      if (same_key(slot + 1, key)) {
        created = false;
        return slot[0];
      }
    }
  }
  size_t size() const { return keys_.size() / d_; }
  /// Keys in id order (vertex v's key at keys()[v·d]).
  const std::vector<int32_t>& keys() const { return keys_; }

 private:
  size_t capacity() const { return mask_ + 1; }
  size_t home(uint64_t h) const { return static_cast<size_t>(h >> shift_); }
  bool same_key(const int32_t* a, const int32_t* b) const {
    for (size_t i = 0; i < d_; ++i) {
      if (a[i] != b[i])
        return false;
    }
    return true;
  }
  void resize_slots(int bits) {
    slots_.assign((size_t{1} << bits) * stride_, -1);
    mask_ = (size_t{1} << bits) - 1;
    shift_ = 64 - bits;
  }
  void grow() {
    std::vector<int32_t> old;
    old.swap(slots_);
    resize_slots(64 - shift_ + 1);
    for (size_t at = 0; at < old.size(); at += stride_) {
      if (old[at] < 0)
        continue;
      const int32_t* key = &old[at + 1];
      size_t i = home(hash(key));
      while (slots_[i * stride_] >= 0)
        i = (i + 1) & mask_;
      std::copy(&old[at], &old[at] + stride_, &slots_[i * stride_]);
    }
  }

  // Odd 64-bit factors of key_sum (splitmix64 outputs).
  static constexpr uint64_t kFactors[kMaxLatticeDim] = {0x9E3779B97F4A7C15ull,
                                                        0xBF58476D1CE4E5B9ull,
                                                        0x94D049BB133111EBull,
                                                        0xE7037ED1A0B428DBull,
                                                        0x8EBC6AF09C88C6E3ull,
                                                        0xA0761D6478BD642Full,
                                                        0xD6E8FEB86659FD93ull,
                                                        0x589965CC75374CC3ull,
                                                        0x1D8E4E27C47D124Full,
                                                        0xC2B2AE3D27D4EB4Full,
                                                        0x165667B19E3779F9ull,
                                                        0x85EBCA77C2B2AE63ull,
                                                        0x27D4EB2F165667C5ull,
                                                        0xFF51AFD7ED558CCDull,
                                                        0xC4CEB9FE1A85EC53ull,
                                                        0x2545F4914F6CDD1Dull};

  size_t d_;
  size_t stride_;
  size_t mask_ = 0;             // capacity − 1 (a power of two)
  int shift_ = 64;              // 64 − log2(capacity): the home slot is hash >> shift_
  std::vector<int32_t> slots_;  // capacity × (1 + d): id (−1 = free) and the key inline
  std::vector<int32_t> keys_;
};

// The simplex of one point: its remainder-0 vertex and the rank of each coordinate (which
// together determine the d+1 corners).
struct Simplex {
  int32_t rem0[kMaxLatticeDim + 1];
  int32_t rank[kMaxLatticeDim + 1];
};

// Round to nearest, ties to even (what SSE rounding does), without a libm call: adding and
// subtracting 1.5·2^23 leaves the rounded value for |v| < 2^22.
PM_ALWAYS_INLINE float round_half_even(float v) {
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

  // The largest |elevated coordinate| per unit of max |feature|: elevated[0] sums every scaled
  // feature, elevated[j] (j ≥ 1) the scaled features from j on minus j times feature j−1's.
  // With a margin for float rounding.
  double elevation_gain() const {
    double largest = 0.0;
    for (int j = 0; j <= d; ++j) {
      double c = j > 0 ? j * static_cast<double>(scale[j - 1]) : 0.0;
      for (int i = j; i < d; ++i)
        c += scale[i];
      largest = std::max(largest, c);
    }
    return largest * (1.0 + 1e-3);
  }

  // The key of corner r of simplex s (d ints).
  void corner_key(const Simplex& s, int r, int32_t* key) const {
    for (int i = 0; i < d; ++i)
      key[i] = s.rem0[i] + canonical[r * (d + 1) + s.rank[i]];
  }
};

// Lane-wise |v| ≥ 2^22, where round_half_even needs nearbyint.
PM_ALWAYS_INLINE bool any_beyond_magic_range(const detail::f8& v) {
  detail::i8 bits;
  std::memcpy(&bits, &v, sizeof(bits));
  bits &= 0x7FFFFFFF;  // |v|
  detail::f8 abs;
  std::memcpy(&abs, &bits, sizeof(abs));
  const detail::i8 big = abs >= 4194304.0f;
  uint64_t words[4];
  std::memcpy(words, &big, sizeof(words));
  return (words[0] | words[1] | words[2] | words[3]) != 0;
}

// round_half_even of 8 lanes.
PM_ALWAYS_INLINE detail::f8 round_half_even8(const detail::f8& v) {
  constexpr float kMagic = 12582912.0f;  // 1.5 · 2^23
  detail::f8 r = (v + kMagic) - kMagic;
  if (any_beyond_magic_range(v)) {  // rare: take those lanes the scalar way
    for (int lane = 0; lane < 8; ++lane)
      r[lane] = round_half_even(v[lane]);
  }
  return r;
}

// Elevates up to 8 points (features f, d per point; `count` of them) onto the hyperplane, finds
// their enclosing simplices and barycentric weights (d+1 per point, to `weights_out`) (Adams et
// al. 2010, p. 5-10). The points are
// the 8 lanes of vectors, and every float operation is the reference's scalar one, lane by lane
// and in the same order (no FMA contraction), so each lane gives the scalar result bit for bit.
__attribute__((target_clones("avx512f", "avx2", "default"))) void locate8(
    const Embedding& emb, const float* f, size_t count, Simplex* out, float* weights_out) {
  using detail::f8;
  using detail::i8;
  using detail::splat8;
  const int d = emb.d;
  const size_t du = static_cast<size_t>(d);
  // Features dimension-major (padding lanes 0).
  float in[kMaxLatticeDim][8];
  for (size_t lane = 0; lane < 8; ++lane) {
    for (size_t k = 0; k < du; ++k)
      in[k][lane] = lane < count ? f[lane * du + k] : 0.0f;
  }
  f8 elevated[kMaxLatticeDim + 1];
  f8 rem0[kMaxLatticeDim + 1];
  f8 rank[kMaxLatticeDim + 1];
  f8 sm = splat8(0.0f);
  for (int j = d; j > 0; --j) {
    const f8 cf = detail::load8(in[j - 1]) * emb.scale[j - 1];
    elevated[j] = sm - static_cast<float>(j) * cf;
    sm += cf;
  }
  elevated[0] = sm;
  // Closest remainder-0 point, by rounding (half to even, as SSE rounding does).
  f8 sum = splat8(0.0f);
  for (int i = 0; i <= d; ++i) {
    const f8 v = round_half_even8(emb.inv_d1 * elevated[i]);
    rem0[i] = v * emb.d1;
    sum += v;
  }
  // Rank of each coordinate's remainder, then bring the point back onto the plane.
  for (int i = 0; i <= d; ++i)
    rank[i] = splat8(0.0f);
  for (int i = 0; i < d; ++i) {
    const f8 di = elevated[i] - rem0[i];
    for (int j = i + 1; j <= d; ++j) {
      const f8 c = di < elevated[j] - rem0[j] ? splat8(1.0f) : splat8(0.0f);
      rank[i] += c;
      rank[j] += 1.0f - c;
    }
  }
  for (int i = 0; i <= d; ++i) {
    rank[i] += sum;
    const f8 add = rank[i] < 0.0f ? splat8(emb.d1) : splat8(0.0f);
    const f8 sub = rank[i] >= emb.d1 ? splat8(emb.d1) : splat8(0.0f);
    rank[i] += add - sub;
    rem0[i] += add - sub;
    // Beyond max_resolved_feature, float rounding can leave the coordinate sum off by more
    // than d+1 and a rank outside [0, d]; clamped, corner keys stay within a step of rem0.
    rank[i] = rank[i] < 0.0f ? splat8(0.0f) : rank[i];
    rank[i] = rank[i] > static_cast<float>(d) ? splat8(static_cast<float>(d)) : rank[i];
  }
  // Barycentric coordinates (p. 10): coordinate i adds to weight d − rank and subtracts from the
  // next; each weight takes its terms in order of i, as in the scalar scatter.
  f8 weights[kMaxLatticeDim + 2];
  for (int k = 0; k <= d + 1; ++k)
    weights[k] = splat8(0.0f);
  for (int i = 0; i <= d; ++i) {
    const f8 v = (elevated[i] - rem0[i]) * emb.inv_d1;
    const i8 p = d - __builtin_convertvector(rank[i], i8);
    for (int k = 0; k <= d + 1; ++k) {
      weights[k] = p == k ? weights[k] + v : weights[k];
      weights[k] = p + 1 == k ? weights[k] - v : weights[k];
    }
  }
  weights[0] += 1.0f + weights[d + 1];
  for (int i = 0; i <= d; ++i) {
    const i8 r0 = __builtin_convertvector(rem0[i], i8);
    const i8 rk = __builtin_convertvector(rank[i], i8);
    for (size_t lane = 0; lane < count; ++lane) {
      out[lane].rem0[i] = r0[lane];
      out[lane].rank[i] = rk[lane];
      weights_out[lane * (du + 1) + static_cast<size_t>(i)] = weights[i][lane];
    }
  }
}

// Neighbouring pixels often fall in the same simplex (always for smooth image regions), so a
// small direct-mapped cache from a simplex (remainder-0 vertex and ranks) to the last point seen
// in it saves most hash-table lookups while building: that point's corner ids are the ids the
// table would give. A point is entered when it is looked up (before its ids are known), so that
// the later points of the same batch find it too; the batch fills ids in point order.
class SimplexCache {
 public:
  explicit SimplexCache(int d)
      : half_(static_cast<size_t>(d + 1)),
        stride_(2 * half_ + 1),
        entries_(kEntries * stride_, -1) {}

  /// An earlier point in the simplex of `s`, or -1 (and then `point` takes the entry).
  int64_t find_or_enter(const Simplex& s, size_t point) {
    int32_t* e = &entries_[slot(s) * stride_];
    if (e[0] >= 0 && same(s, e + 1))
      return e[0];
    e[0] = static_cast<int32_t>(point);  // build() keeps n below 2^32 / (d+1) ≤ 2^31
    std::copy(s.rem0, s.rem0 + half_, e + 1);
    std::copy(s.rank, s.rank + half_, e + 1 + half_);
    return -1;
  }

 private:
  static constexpr size_t kEntries = 4096;
  size_t slot(const Simplex& s) const {
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < half_; ++i)  // unsigned: wraps instead of overflowing
      h = (h ^ (static_cast<uint32_t>(s.rem0[i]) * 16u + static_cast<uint32_t>(s.rank[i]))) *
          16777619u;
    return (h ^ (h >> 15)) & (kEntries - 1);
  }
  bool same(const Simplex& s, const int32_t* e) const {
    for (size_t i = 0; i < half_; ++i) {
      if (e[i] != s.rem0[i] || e[half_ + i] != s.rank[i])
        return false;
    }
    return true;
  }
  size_t half_;    // d+1: the signature is rem0 and rank
  size_t stride_;  // point (−1 = empty) and signature
  std::vector<int32_t> entries_;
};

// Each point's simplex, barycentric weights and corner vertex ids, a batch of points at a time:
// the batch is located, its points that miss the simplex cache have their corner keys hashed and
// slots prefetched, and then the corners are looked up (inserted) in point order, which numbers
// the vertices in first-seen order. A vertex is first splatted by the corner that inserted it.
class VertexFinder {
 public:
  static constexpr size_t kBatch = 32;  // a multiple of locate8's 8 points
  static_assert(kBatch % 8 == 0);

  VertexFinder(int d, size_t n)
      : emb_(d), table_(d, n), cache_(d), d_(static_cast<size_t>(d)), d1_(d_ + 1) {}

  const KeyTable& table() const { return table_; }

  /// Locates points [begin, end), writing their barycentric weights.
  void locate_batch(const float* features, size_t begin, size_t end, float* barycentric) {
    for (size_t i = begin; i < end; i += 8) {
      locate8(emb_,
              features + i * d_,
              std::min<size_t>(8, end - i),
              &simplices_[i - begin],
              barycentric + i * d1_);
    }
  }

  /// Corner ids (+1) and first-splat flags of the points just located.
  void ids_of_batch(size_t begin, size_t end, int32_t* offsets, uint8_t* first) {
    table_.reserve_for((end - begin) * d1_);
    for (size_t i = begin; i < end; ++i) {
      const size_t b = i - begin;
      source_[b] = cache_.find_or_enter(simplices_[b], i);
      if (source_[b] < 0)
        hash_corners(simplices_[b], &keys_[b * kKeysPerPoint], &hashes_[b * (kMaxLatticeDim + 1)]);
    }
    for (size_t i = begin; i < end; ++i) {
      const size_t b = i - begin;
      int32_t* ids = offsets + i * d1_;
      uint8_t* is_first = first + i * d1_;
      if (source_[b] >= 0) {
        const int32_t* same = offsets + static_cast<size_t>(source_[b]) * d1_;
        std::copy(same, same + d1_, ids);
        std::fill(is_first, is_first + d1_, uint8_t{0});
        continue;
      }
      const int32_t* keys = &keys_[b * kKeysPerPoint];
      const uint64_t* hashes = &hashes_[b * (kMaxLatticeDim + 1)];
      for (size_t r = 0; r < d1_; ++r) {
        bool created = false;
        ids[r] = table_.insert(keys + r * d_, hashes[r], created) + 1;
        is_first[r] = created ? 1 : 0;
      }
    }
  }

 private:
  static constexpr size_t kKeysPerPoint = (kMaxLatticeDim + 1) * kMaxLatticeDim;

  void hash_corners(const Simplex& s, int32_t* keys, uint64_t* hashes) const {
    for (size_t r = 0; r < d1_; ++r) {
      emb_.corner_key(s, static_cast<int>(r), keys + r * d_);
      hashes[r] = table_.hash(keys + r * d_);
      table_.prefetch(hashes[r]);
    }
  }

  Embedding emb_;
  KeyTable table_;
  SimplexCache cache_;
  size_t d_, d1_;
  Simplex simplices_[kBatch];
  int64_t source_[kBatch];  // an earlier point in the same simplex, or -1
  int32_t keys_[kBatch * kKeysPerPoint];
  uint64_t hashes_[kBatch * (kMaxLatticeDim + 1)];
};

// Blur neighbours of every vertex along each of the d+1 lattice axes: the vertices at
// key ± (1, ..., 1, −d, 1, ..., 1) (axis j < d) or key ± (1, ..., 1) (axis d); index + 1, 0 = none.
// Vertices go in batches: the hashes of a batch's 2(d+1) neighbour keys each are computed and
// their slots prefetched before any is probed.
class NeighborFinder {
 public:
  NeighborFinder(const KeyTable& table, int d) : table_(table), d_(d) {}

  std::vector<int32_t> all() {
    const size_t m = table_.size();
    std::vector<int32_t> neighbors(static_cast<size_t>(d_ + 1) * m * 2);
    for (size_t begin = 0; begin < m; begin += kBatch) {
      const size_t end = std::min(m, begin + kBatch);
      for (size_t v = begin; v < end; ++v)
        hash_and_prefetch(v, &hashes_[(v - begin) * kPerVertex]);
      for (size_t v = begin; v < end; ++v)
        probe(v, &hashes_[(v - begin) * kPerVertex], m, neighbors.data());
    }
    return neighbors;
  }

 private:
  static constexpr size_t kBatch = 16;
  static constexpr size_t kPerVertex = 2 * (kMaxLatticeDim + 1);

  // Neighbour `side` (0: −, 1: +) of the vertex with `key` along `axis`.
  void neighbor_key(const int32_t* key, int axis, int side, int32_t* out) const {
    const int32_t step = side == 0 ? -1 : 1;
    for (int k = 0; k < d_; ++k)
      out[k] = key[k] + step;
    if (axis < d_)
      out[axis] = key[axis] - step * d_;
  }
  const int32_t* key_of(size_t v) const { return &table_.keys()[v * static_cast<size_t>(d_)]; }
  void hash_and_prefetch(size_t v, uint64_t* hashes) const {
    const uint64_t sum = table_.key_sum(key_of(v));
    uint64_t all_ones = 0;  // key_sum of (1, ..., 1)
    for (int k = 0; k < d_; ++k)
      all_ones += KeyTable::factor(static_cast<size_t>(k));
    const uint64_t d1 = static_cast<uint64_t>(d_ + 1);
    for (int j = 0; j <= d_; ++j) {
      // Neighbour − is key − (1, ..., 1) + (d+1)·e_j (e_d = 0), neighbour + its mirror.
      const uint64_t axis = j < d_ ? d1 * KeyTable::factor(static_cast<size_t>(j)) : 0;
      hashes[2 * j] = KeyTable::mix(sum - all_ones + axis);
      hashes[2 * j + 1] = KeyTable::mix(sum + all_ones - axis);
      table_.prefetch(hashes[2 * j]);
      table_.prefetch(hashes[2 * j + 1]);
    }
  }
  void probe(size_t v, const uint64_t* hashes, size_t m, int32_t* neighbors) const {
    int32_t n[kMaxLatticeDim];
    for (int j = 0; j <= d_; ++j) {
      for (int side = 0; side < 2; ++side) {
        neighbor_key(key_of(v), j, side, n);
        neighbors[(static_cast<size_t>(j) * m + v) * 2 + static_cast<size_t>(side)] =
            table_.find(n, hashes[2 * j + side]) + 1;
      }
    }
  }

  const KeyTable& table_;
  int d_;
  uint64_t hashes_[kBatch * kPerVertex];
};

void check_dimensions(int d) {
  PM_CHECK(d >= 1 && d <= kMaxLatticeDim,
           "permutohedral lattice: {} feature dimensions (1..{})",
           d,
           kMaxLatticeDim);
}

// Index of the first feature that is not finite or exceeds `limit` in magnitude, or `count`.
// Checks blocks without branching (vectorisable) and locates the culprit only on failure.
size_t first_feature_beyond(const float* f, size_t count, float limit) {
  constexpr size_t kBlock = 1024;
  for (size_t begin = 0; begin < count; begin += kBlock) {
    const size_t end = std::min(count, begin + kBlock);
    bool bad = false;
    for (size_t i = begin; i < end; ++i)
      bad |= !(std::fabs(f[i]) <= limit);  // NaN fails too
    if (!bad)
      continue;
    for (size_t i = begin; i < end; ++i) {
      if (!(std::fabs(f[i]) <= limit))
        return i;
    }
  }
  return count;
}

// Refuses features the lattice's int32 keys cannot hold (see max_feature).
void check_features(const float* features, size_t n, int d) {
  const size_t du = static_cast<size_t>(d);
  const double limit = PermutohedralLattice::max_feature(d);
  const size_t bad = first_feature_beyond(features, n * du, static_cast<float>(limit));
  PM_CHECK(bad == n * du,
           "permutohedral lattice: feature {} of point {} is {:.4g}; features must be finite and "
           "within ±{:.4g} in {} dimensions",
           bad % du,
           bad / du,
           bad < n * du ? features[bad] : 0.0f,
           limit,
           d);
}

}  // namespace

double PermutohedralLattice::max_feature(int d) {
  check_dimensions(d);
  return std::ldexp(1.0, 30) / Embedding(d).elevation_gain();
}

double PermutohedralLattice::max_resolved_feature(int d) {
  check_dimensions(d);
  return std::ldexp(1.0, 20) / Embedding(d).elevation_gain();
}

// The blur's chains along each of the d+1 axes, from the neighbours NeighborFinder gives (index +
// 1, 0 = none; side 0 is key − axis, side 1 key + axis). Along an axis, the neighbour relation is
// symmetric (the − neighbour of v's + neighbour is v), so the vertices form disjoint chains: each
// starts at a vertex with no − neighbour and follows the + neighbours. Per axis, m entries: the
// vertex rows (index + 1) chain after chain, a chain's head negated.
static std::vector<int32_t> blur_chains(const std::vector<int32_t>& neighbors, size_t m, int d) {
  std::vector<int32_t> chains(static_cast<size_t>(d + 1) * m);
  for (size_t j = 0; j <= static_cast<size_t>(d); ++j) {
    const int32_t* nb = neighbors.data() + j * m * 2;
    int32_t* out = chains.data() + j * m;
    size_t k = 0;
    for (size_t v = 0; v < m; ++v) {
      if (nb[2 * v] != 0)
        continue;  // not a chain's head
      const int32_t head = static_cast<int32_t>(v + 1);
      for (int32_t row = head; row != 0; row = nb[2 * (row - 1) + 1]) {
        PM_CHECK(k < m, "lattice axis {}: its neighbour chains revisit a vertex", j);
        out[k++] = row == head ? -row : row;
      }
    }
    PM_CHECK(k == m, "lattice axis {}: its neighbour chains cover {} of {} vertices", j, k, m);
  }
  return chains;
}

PermutohedralLattice PermutohedralLattice::build(const float* features, size_t n, int d) {
  check_dimensions(d);
  PM_CHECK(n < (size_t{1} << 32) / static_cast<size_t>(d + 1),
           "permutohedral lattice: {} points is more than this build supports",
           n);
  check_features(features, n, d);
  PermutohedralLattice lat;
  lat.n_ = n;
  lat.d_ = d;
  lat.alpha_ = 1.0f / (1.0f + std::pow(2.0f, static_cast<float>(-d)));
  const size_t d1 = static_cast<size_t>(d + 1);
  lat.offset_.resize(n * d1);
  lat.barycentric_.resize(n * d1);
  lat.first_.resize(n * d1);
  VertexFinder finder(d, n);
  for (size_t begin = 0; begin < n; begin += VertexFinder::kBatch) {
    const size_t end = std::min(n, begin + VertexFinder::kBatch);
    finder.locate_batch(features, begin, end, lat.barycentric_.data());
    finder.ids_of_batch(begin, end, lat.offset_.data(), lat.first_.data());
  }
  lat.m_ = finder.table().size();
  lat.chains_ = blur_chains(NeighborFinder(finder.table(), d).all(), lat.m_, d);
  return lat;
}

}  // namespace pm
