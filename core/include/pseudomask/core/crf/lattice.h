// SPDX-License-Identifier: MIT
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace pm {

/// Value rows whose width is a multiple of this are processed in fixed-width blocks that
/// vectorise without a scalar tail (DenseCrf2D pads its rows to it).
constexpr size_t kChannelBlock = 8;

/// How a filtered value is sliced out of the lattice. Krähenbühl's reference uses two float
/// orderings (its SSE path for rows wider than 2 values, its scalar path otherwise); to agree
/// with it bit for bit we reproduce both.
enum class SliceOrder {
  kWeightTimesAlphaFirst,  ///< Σ (w·α)·v  (reference SSE path, value rows > 2)
  kAlphaLast,              ///< Σ (w·v)·α  (reference scalar path, value rows ≤ 2)
};

/// The order the reference uses for rows of `channels` values.
inline SliceOrder reference_slice_order(int channels) {
  return channels <= 2 ? SliceOrder::kAlphaLast : SliceOrder::kWeightTimesAlphaFirst;
}

/// Reusable buffers of PermutohedralLattice::filter, so mean-field iterations allocate nothing.
struct LatticeWorkspace {
  std::vector<float> values;
};

/// The permutohedral lattice of Adams, Baek & Davis (2010), "Fast high-dimensional filtering
/// using the permutohedral lattice", as Krähenbühl & Koltun (2011) use it for dense CRFs: it
/// approximates Gaussian filtering out_i = Σ_j exp(−½‖f_i − f_j‖²) in_j in time linear in the
/// number of points. Built once per image and feature space (build), then applied to any number
/// of value arrays (filter), which is what lets URN's K·6+1 CRFs share one lattice.
class PermutohedralLattice {
 public:
  PermutohedralLattice() = default;

  /// Builds the lattice of n points with d-dimensional features (pixel-major: feature k of point
  /// i at features[i * d + k]), already divided by their standard deviations.
  /// Throws pm::Error for a feature that is not finite or whose magnitude exceeds
  /// max_feature(d).
  static PermutohedralLattice build(const float* features, size_t n, int d);

  /// The largest feature magnitude build() accepts in d dimensions: the lattice's integer keys
  /// then stay within ±2^30, so no key, blur step or hash overflows (any finite feature below it
  /// builds without undefined behaviour, if not always a useful lattice).
  static double max_feature(int d);
  /// The largest feature magnitude the lattice resolves: its coordinates stay below 2^20, where
  /// float32 still tells an eighth of a lattice cell apart. DenseCrf2D refuses kernel widths that
  /// would give larger features.
  static double max_resolved_feature(int d);

  size_t num_points() const { return n_; }
  size_t num_vertices() const { return m_; }
  int dim() const { return d_; }
  /// Per point, the d+1 simplex corners as vertex index + 1 (row v+1 of the filter values) and
  /// their barycentric weights: n × (d+1) each. Used by fused slicing loops.
  const int32_t* corner_offsets() const { return offset_.data(); }
  const float* corner_weights() const { return barycentric_.data(); }
  /// The lattice's normalising constant 1 / (1 + 2^-d).
  float alpha() const { return alpha_; }
  /// Bytes held by the lattice itself (not counting workspaces).
  size_t memory_bytes() const;

  /// Filters `channels`-wide rows, out[i * channels + c] = Σ_j k(f_i, f_j) in[j * channels + c]
  /// approximately: splat onto the lattice, blur along its d+1 axes, slice back (in the
  /// reference's order for rows of that width).
  void filter(const float* in, int channels, float* out, LatticeWorkspace& ws) const;

  /// Splat + blur only: leaves the blurred lattice values in ws.values (row m+1 for vertex m).
  /// `threads` > 1 splits the work (results are identical for any count).
  void splat_and_blur(const float* in,
                      const float* in_scale,
                      int channels,
                      LatticeWorkspace& ws,
                      int threads = 1) const;

 private:
  size_t n_ = 0;  // points (pixels)
  size_t m_ = 0;  // lattice vertices
  int d_ = 0;
  float alpha_ = 1.0f;
  std::vector<int32_t> offset_;     // n × (d+1): vertex index + 1 of each simplex corner
  std::vector<float> barycentric_;  // n × (d+1)
  // (d+1) × m: per axis, the vertex rows (index + 1) chain by chain along that axis, each chain's
  // head negated. The blur updates a chain in place, in order (see blur_chain_in_place).
  std::vector<int32_t> chains_;
  std::vector<uint8_t> first_;  // n × (d+1): 1 if the corner is its vertex's first splat
};

}  // namespace pm
