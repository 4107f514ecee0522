// SPDX-License-Identifier: MIT
#pragma once

// IRN's inter-pixel paths (Ahn, Cho & Kwak, CVPR 2019, Sec. 3.2 and 4.2): the pixel pairs within a
// radius whose relations IRN learns (class-boundary affinities and displacements) and the pixels
// on the straight path between each pair, over which the boundary map's maximum gives the pair's
// affinity. Laid out as the public code's PathIndex lays them out, so that per-pair arrays line up
// with IRN's: directions grouped by path length, shortest first, each group in search order.

#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

namespace pm {

/// A pair offset (dy, dx) from a source pixel to its destination: dy > 0, or dy = 0 and dx > 0.
struct PathDirection {
  int dy = 0;
  int dx = 0;
  /// The pixels (y, x) within a unit distance of the segment from (0, 0) to (dy, dx), inside their
  /// bounding box, destination first (ordered by −|y|−|x|, ties in scan order); the source is
  /// last.
  std::vector<std::pair<int, int>> path;
};

/// The directions of a search radius r: (0, dx) for dx in 1..r−1, then (dy, dx) for dy in 1..r−1,
/// dx in −(r−1)..r−1 with dx² + dy² < r² (IRN: radius 10 to train, 5 for the random walk),
/// reordered stably by path length (shortest first) as IRN's PathIndex orders them.
std::vector<PathDirection> path_directions(int radius);

/// The largest value of `boundary` (a map `width` pixels wide) on `dir`'s path from the pixel at
/// flat index `source`, both ends included; the path must lie inside the map.
float path_boundary_max(const std::vector<float>& boundary,
                        int width,
                        size_t source,
                        const PathDirection& dir);

/// The pair indices of a height×width map for a radius: sources are the pixels (y, x) with
/// y < height − (r−1) and r−1 <= x < width − (r−1) (IRN's crop, so every destination is inside),
/// row-major; pair (d, s) joins source s with source s + direction d.
struct PathIndex {
  int radius = 0;
  int height = 0;
  int width = 0;
  std::vector<PathDirection> directions;
  std::vector<int32_t> sources;  ///< flat pixel index of each source
  /// Throws pm::Error naming the radius or map size when the map is smaller than the crop.
  PathIndex(int radius, int height, int width);
  size_t num_sources() const { return sources.size(); }
  size_t num_pairs() const { return sources.size() * directions.size(); }
  /// Flat index of direction d's destination of source s.
  int32_t destination(size_t d, size_t s) const {
    return sources[s] + directions[d].dy * width + directions[d].dx;
  }
};

/// IRN's affinity labels of a label map at the path index's size (labels 255 = unsure), each
/// (directions × sources) bytes of 0/1 (IRN's GetAffinityLabelFromIndices): a pair is valid when
/// neither end is 255; bg_pos: valid, equal labels, background (0); fg_pos: valid, equal labels,
/// foreground; neg: valid, different labels.
struct AffinityLabels {
  std::vector<uint8_t> bg_pos;
  std::vector<uint8_t> fg_pos;
  std::vector<uint8_t> neg;
};
/// Throws pm::Error when `labels` is not height×width of the index.
AffinityLabels affinity_labels(const std::vector<uint8_t>& labels, const PathIndex& index);

/// IRN Eq. 5's inter-pixel affinity from a boundary map B (height×width of the index, values in
/// [0, 1]): a_ij = 1 − max_{k on the path from i to j} B(k), the ends included; (directions ×
/// sources) floats, pair (d, s) at d · num_sources + s.
std::vector<float> edge_to_affinity(const std::vector<float>& boundary, const PathIndex& index);

}  // namespace pm
