// SPDX-License-Identifier: MIT
#include "pseudomask/core/irn/path_index.h"

#include <algorithm>
#include <cstdlib>

#include "pseudomask/core/common/error.h"

namespace pm {
namespace {

// The pixels of a direction's path: those of its bounding box whose squared distance to the line
// through (0, 0) and (dy, dx) is below 1, destination first.
std::vector<std::pair<int, int>> path_pixels(int dy, int dx) {
  const int length_sq = dy * dy + dx * dx;
  std::vector<std::pair<int, int>> out;
  for (int y = std::min(0, dy); y <= std::max(0, dy); ++y) {
    for (int x = std::min(0, dx); x <= std::max(0, dx); ++x) {
      const int cross = dy * x - dx * y;
      if (cross * cross < length_sq)  // (cross² / length²) < 1, in integers
        out.emplace_back(y, x);
    }
  }
  std::stable_sort(out.begin(), out.end(), [](const auto& a, const auto& b) {
    return std::abs(a.first) + std::abs(a.second) > std::abs(b.first) + std::abs(b.second);
  });
  return out;
}

}  // namespace

std::vector<PathDirection> path_directions(int radius) {
  PM_CHECK(radius >= 2 && radius <= 64, "PathIndex::radius {}: must be in 2..64", radius);
  std::vector<PathDirection> search;
  for (int x = 1; x < radius; ++x)
    search.push_back({0, x, path_pixels(0, x)});
  for (int y = 1; y < radius; ++y) {
    for (int x = -radius + 1; x < radius; ++x) {
      if (x * x + y * y < radius * radius)
        search.push_back({y, x, path_pixels(y, x)});
    }
  }
  std::stable_sort(search.begin(), search.end(), [](const auto& a, const auto& b) {
    return a.path.size() < b.path.size();
  });
  return search;
}

PathIndex::PathIndex(int radius_, int height_, int width_)
    : radius(radius_), height(height_), width(width_), directions(path_directions(radius_)) {
  const int floor = radius - 1;
  PM_CHECK(height > floor && width > 2 * floor,
           "PathIndex: a {}x{} map is too small for radius {} (needs more than {} rows and {} "
           "columns)",
           width,
           height,
           radius,
           floor,
           2 * floor);
  for (int y = 0; y < height - floor; ++y) {
    for (int x = floor; x < width - floor; ++x)
      sources.push_back(y * width + x);
  }
}

AffinityLabels affinity_labels(const std::vector<uint8_t>& labels, const PathIndex& index) {
  PM_CHECK(labels.size() == static_cast<size_t>(index.height) * index.width,
           "affinity labels: {} labels for a {}x{} path index",
           labels.size(),
           index.width,
           index.height);
  const size_t pairs = index.num_pairs();
  AffinityLabels out{
      std::vector<uint8_t>(pairs), std::vector<uint8_t>(pairs), std::vector<uint8_t>(pairs)};
  for (size_t d = 0; d < index.directions.size(); ++d) {
    for (size_t s = 0; s < index.num_sources(); ++s) {
      const uint8_t from = labels[static_cast<size_t>(index.sources[s])];
      const uint8_t to = labels[static_cast<size_t>(index.destination(d, s))];
      if (from == 255 || to == 255)
        continue;
      const size_t p = d * index.num_sources() + s;
      out.bg_pos[p] = from == to && from == 0;
      out.fg_pos[p] = from == to && from != 0;
      out.neg[p] = from != to;
    }
  }
  return out;
}

float path_boundary_max(const std::vector<float>& boundary,
                        int width,
                        size_t source,
                        const PathDirection& dir) {
  float most = 0.0f;
  for (const auto& [y, x] : dir.path)
    most = std::max(most, boundary[source + static_cast<size_t>(y * width + x)]);
  return most;
}

std::vector<float> edge_to_affinity(const std::vector<float>& boundary, const PathIndex& index) {
  PM_CHECK(boundary.size() == static_cast<size_t>(index.height) * index.width,
           "edge_to_affinity: a boundary map of {} values for a {}x{} path index",
           boundary.size(),
           index.width,
           index.height);
  std::vector<float> out(index.num_pairs());
  for (size_t d = 0; d < index.directions.size(); ++d) {
    for (size_t s = 0; s < index.num_sources(); ++s) {
      const size_t source = static_cast<size_t>(index.sources[s]);
      out[d * index.num_sources() + s] =
          1.0f - path_boundary_max(boundary, index.width, source, index.directions[d]);
    }
  }
  return out;
}

}  // namespace pm
