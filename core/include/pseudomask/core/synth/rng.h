// SPDX-License-Identifier: MIT
// The synthetic dataset's own integer random numbers. std::uniform_*_distribution and
// std::normal_distribution give different sequences in libstdc++ and libc++; these do not, so a
// seed means the same dataset on every machine.
#pragma once

#include <cstdint>

#include "pseudomask/core/common/error.h"

namespace pm {

/// One step of splitmix64 (Steele, Lea & Flood 2014): advances `state` and returns 64 mixed bits.
inline uint64_t splitmix64(uint64_t& state) {
  uint64_t z = (state += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

/// A stateless 32-bit hash of a lattice point and a salt: the source of every texture value, so
/// a pixel's noise depends only on (x, y, salt), never on drawing order.
inline uint32_t hash_point(int32_t x, int32_t y, uint32_t salt) {
  uint64_t h = (static_cast<uint64_t>(static_cast<uint32_t>(x)) << 32) ^ static_cast<uint32_t>(y) ^
               (static_cast<uint64_t>(salt) * 0x9E3779B97F4A7C15ull);
  h ^= h >> 33;
  h *= 0xFF51AFD7ED558CCDull;
  h ^= h >> 33;
  h *= 0xC4CEB9FE1A85EC53ull;
  h ^= h >> 33;
  return static_cast<uint32_t>(h);
}

/// A small deterministic generator (splitmix64 stream) with the few draws the generator needs.
class SynthRng {
 public:
  /// A stream for `seed`.
  explicit SynthRng(uint64_t seed) : state_(seed) {}

  /// The next 64 random bits.
  uint64_t next() { return splitmix64(state_); }

  /// A uniform integer in [lo, hi] (both included), without modulo bias (rejection).
  int64_t uniform(int64_t lo, int64_t hi) {
    PM_CHECK(lo <= hi, "SynthRng::uniform: empty range [{}, {}]", lo, hi);
    const uint64_t range = static_cast<uint64_t>(hi - lo) + 1;
    if (range == 0)
      return static_cast<int64_t>(next());  // the whole 64-bit range
    const uint64_t limit = UINT64_MAX - UINT64_MAX % range;
    uint64_t r = next();
    while (r >= limit)
      r = next();
    return lo + static_cast<int64_t>(r % range);
  }

  /// True with probability permille / 1000.
  bool chance(int permille) { return uniform(0, 999) < permille; }

  /// A seed for an independent child stream (for one image, one object, one texture).
  uint64_t fork() { return next() ^ 0xD6E8FEB86659FD93ull; }

 private:
  uint64_t state_;
};

}  // namespace pm
