// SPDX-License-Identifier: MIT
#pragma once

// IRN's random walk (Ahn, Cho & Kwak, CVPR 2019, Sec. 4.3, Eq. 11–12): class activations diffuse
// through a transition matrix made from the inter-pixel affinities of a class-boundary map, so that
// they fill their objects and stop at boundaries. The public code materialises the transition
// matrix densely, (hw)² floats, and raises it to the power 2^8 by repeated squaring (over 11 GB on
// a GPU for large VOC images); here it stays sparse (one row per pixel, the pairs within the
// radius) and the walk is 2^8 sparse steps, which equals the same power of the same matrix.

#include <string>
#include <vector>

#include "pseudomask/core/common/image.h"
#include "pseudomask/core/common/planes.h"

namespace pm {

struct RandomWalkOptions {
  int radius = 5;      ///< pairs within this radius (IRN's make_sem_seg_labels: 5)
  double beta = 10.0;  ///< IRN Eq. 11: affinities raised to β
  int exp_times = 8;   ///< IRN Eq. 12: 2^exp_times steps of the walk
  /// Throws pm::Error naming the field.
  void validate() const;
};

/// The sparse transition matrix T of a boundary map (h×w values in [0, 1]): for pixels i ≠ j whose
/// offset is one of the radius's path directions (either way), a_ij = (1 − max of the boundary on
/// the path from i to j, both ends included)^β; a_ii = 1; pairs reaching outside the map have no
/// affinity (the public code pads the map with boundary 1). T_ij = a_ij / Σ_k a_kj (IRN Eq. 11).
/// Stored as a stencil: column j's entries are the pixels j + steps[e], e = 0 the pixel itself,
/// with T values weights[e · h·w + j] (0 where j + steps[e] is outside the map).
struct TransitionMatrix {
  int height = 0;
  int width = 0;
  std::vector<std::pair<int, int>> steps;  ///< (dy, dx) of each stencil entry
  std::vector<float> weights;              ///< steps.size() × (h·w)
  size_t memory_bytes() const { return weights.size() * sizeof(float); }
};
/// Throws pm::Error when the boundary map's size is wrong or a value is not in [0, 1].
TransitionMatrix transition_matrix(const std::vector<float>& boundary,
                                   int height,
                                   int width,
                                   const RandomWalkOptions& options);

/// IRN Eq. 12 as the public code's propagate_to_edge computes it: each plane x of `cams` (K, h, w)
/// becomes (x ∘ (1 − B)) · T^(2^exp_times), B the boundary map.
Planes random_walk(const Planes& cams,
                   const std::vector<float>& boundary,
                   const RandomWalkOptions&);

/// IRN's semantic labels from the walked maps (make_sem_seg_labels): upsampled ×4 (bilinear,
/// half-pixel centres) and cropped to height×width, divided by their global maximum, a constant
/// background plane at `bg_threshold` put first, argmax (lowest wins ties); plane k becomes label
/// keys[k] + 1. A map with no positive value is all background.
LabelMap walk_labels(
    const Planes& walked, const std::vector<int>& keys, int height, int width, float bg_threshold);

/// A class-boundary map B of height×width from a file: a .npy of (H, W) or (1, H, W) floats in
/// [0, 1] (float16/32/64), or an 8-bit PNG whose first channel is B·255 (as write_boundary_png
/// writes it). Throws naming the file for another size, dtype or a value outside [0, 1].
std::vector<float> read_boundary_map(const std::string& path, int height, int width);

/// B as an 8-bit grayscale PNG (round(255·B)), for inspection and as read_boundary_map's input.
void write_boundary_png(const std::string& path,
                        const std::vector<float>& boundary,
                        int height,
                        int width);

}  // namespace pm
