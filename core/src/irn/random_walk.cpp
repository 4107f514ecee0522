// SPDX-License-Identifier: MIT
#include "pseudomask/core/irn/random_walk.h"

#include <algorithm>
#include <cmath>

#include "pseudomask/core/common/error.h"
#include "pseudomask/core/common/resize.h"
#include "pseudomask/core/irn/path_index.h"

namespace pm {

void RandomWalkOptions::validate() const {
  PM_CHECK(radius >= 2 && radius <= 64, "RandomWalkOptions::radius {}: must be in 2..64", radius);
  PM_CHECK(std::isfinite(beta) && beta > 0.0, "RandomWalkOptions::beta {}: must be > 0", beta);
  PM_CHECK(exp_times >= 0 && exp_times <= 16,
           "RandomWalkOptions::exp_times {}: must be in 0..16",
           exp_times);
}

size_t TransitionMatrix::memory_bytes() const {
  return begin.size() * sizeof(size_t) + rows.size() * sizeof(int32_t) +
         values.size() * sizeof(double);
}

namespace {

void check_boundary(const std::vector<float>& boundary, int height, int width) {
  PM_CHECK(height >= 1 && width >= 1, "random walk: empty {}x{} map", width, height);
  PM_CHECK(boundary.size() == static_cast<size_t>(height) * width,
           "random walk: a boundary map of {} values for a {}x{} map",
           boundary.size(),
           width,
           height);
  for (size_t i = 0; i < boundary.size(); ++i) {
    PM_CHECK(boundary[i] >= 0.0f && boundary[i] <= 1.0f,
             "random walk: boundary value {} at pixel {} is not in [0, 1]",
             boundary[i],
             i);
  }
}

// IRN Eq. 11's affinity of pixel (y, x) with (y + dy, x + dx) along `path`, raised to β; 0 when the
// pair leaves the map.
double path_affinity(const std::vector<float>& boundary,
                     int height,
                     int width,
                     int y,
                     int x,
                     const PathDirection& dir,
                     double beta) {
  const int ty = y + dir.dy;
  const int tx = x + dir.dx;
  if (ty < 0 || ty >= height || tx < 0 || tx >= width)
    return 0.0;
  float most = 0.0f;
  for (const auto& [py, px] : dir.path)
    most = std::max(most, boundary[static_cast<size_t>(y + py) * width + (x + px)]);
  return std::pow(static_cast<double>(1.0f - most), beta);
}

}  // namespace

TransitionMatrix transition_matrix(const std::vector<float>& boundary,
                                   int height,
                                   int width,
                                   const RandomWalkOptions& options) {
  options.validate();
  check_boundary(boundary, height, width);
  const std::vector<PathDirection> dirs = path_directions(options.radius);
  const size_t n = static_cast<size_t>(height) * width;
  // The symmetric affinities: entry 0 of each pixel is itself (a_ii = 1), then the pairs it forms
  // with its neighbours along every direction, both ways.
  std::vector<std::vector<std::pair<int32_t, double>>> columns(n);
  for (size_t j = 0; j < n; ++j)
    columns[j].push_back({static_cast<int32_t>(j), 1.0});
  for (int y = 0; y < height; ++y) {
    for (int x = 0; x < width; ++x) {
      const size_t i = static_cast<size_t>(y) * width + x;
      for (const PathDirection& dir : dirs) {
        const double a = path_affinity(boundary, height, width, y, x, dir, options.beta);
        if (a <= 0.0)
          continue;
        const size_t j = i + static_cast<size_t>(dir.dy * width + dir.dx);
        columns[j].push_back({static_cast<int32_t>(i), a});
        columns[i].push_back({static_cast<int32_t>(j), a});
      }
    }
  }
  TransitionMatrix t;
  t.height = height;
  t.width = width;
  t.begin.reserve(n + 1);
  t.begin.push_back(0);
  for (auto& col : columns) {
    std::sort(col.begin(), col.end());
    double sum = 0.0;
    for (const auto& e : col)
      sum += e.second;
    for (const auto& e : col) {
      t.rows.push_back(e.first);
      t.values.push_back(e.second / sum);  // IRN Eq. 11: columns sum to 1
    }
    t.begin.push_back(t.rows.size());
    std::vector<std::pair<int32_t, double>>().swap(col);
  }
  return t;
}

Planes random_walk(const Planes& cams,
                   const std::vector<float>& boundary,
                   const RandomWalkOptions& options) {
  const int h = cams.height();
  const int w = cams.width();
  const TransitionMatrix t = transition_matrix(boundary, h, w, options);
  const size_t n = cams.pixels();
  const size_t k_count = static_cast<size_t>(cams.channels());
  const long steps = 1L << options.exp_times;
  // Pixel-major rows of the K planes, so that each matrix entry serves every class at once.
  std::vector<double> y(n * k_count);
  std::vector<double> next(n * k_count);
  for (size_t k = 0; k < k_count; ++k) {
    const float* x = cams.plane(static_cast<int>(k));
    for (size_t p = 0; p < n; ++p)
      y[p * k_count + k] = static_cast<double>(x[p]) * (1.0 - static_cast<double>(boundary[p]));
  }
  // IRN Eq. 12: y · T, 2^exp_times times (= y · T^(2^exp_times), the public code's squarings).
  for (long s = 0; s < steps; ++s) {
    for (size_t j = 0; j < n; ++j) {
      double* row = &next[j * k_count];
      std::fill(row, row + k_count, 0.0);
      for (size_t e = t.begin[j]; e < t.begin[j + 1]; ++e) {
        const double* from = &y[static_cast<size_t>(t.rows[e]) * k_count];
        const double v = t.values[e];
        for (size_t k = 0; k < k_count; ++k)
          row[k] += from[k] * v;
      }
    }
    y.swap(next);
  }
  Planes out(cams.channels(), h, w);
  for (size_t k = 0; k < k_count; ++k) {
    float* o = out.plane(static_cast<int>(k));
    for (size_t p = 0; p < n; ++p)
      o[p] = static_cast<float>(y[p * k_count + k]);
  }
  return out;
}

LabelMap walk_labels(
    const Planes& walked, const std::vector<int>& keys, int height, int width, float bg_threshold) {
  PM_CHECK(static_cast<int>(keys.size()) == walked.channels(),
           "walk_labels: {} keys for {} planes",
           keys.size(),
           walked.channels());
  for (int key : keys)
    PM_CHECK(key >= 0 && key < 254, "walk_labels: class key {} is out of range 0..253", key);
  PM_CHECK(
      height >= 1 && width >= 1 && height <= 4 * walked.height() && width <= 4 * walked.width(),
      "walk_labels: a {}x{} image does not fit ×4 the {}x{} walked maps",
      width,
      height,
      walked.width(),
      walked.height());
  LabelMap labels(width, height, 0);
  if (walked.channels() == 0)
    return labels;
  const Planes up = resize_planes_bilinear(walked, 4 * walked.height(), 4 * walked.width());
  float top = 0.0f;
  for (int k = 0; k < up.channels(); ++k) {
    for (int yy = 0; yy < height; ++yy) {
      for (int xx = 0; xx < width; ++xx)
        top = std::max(top, up.at(k, yy, xx));
    }
  }
  if (!(top > 0.0f))
    return labels;
  for (int yy = 0; yy < height; ++yy) {
    for (int xx = 0; xx < width; ++xx) {
      float best = bg_threshold;
      int label = 0;
      for (int k = 0; k < up.channels(); ++k) {
        const float v = up.at(k, yy, xx) / top;
        if (v > best) {
          best = v;
          label = keys[static_cast<size_t>(k)] + 1;
        }
      }
      labels.labels[static_cast<size_t>(yy) * width + xx] = static_cast<uint8_t>(label);
    }
  }
  return labels;
}

}  // namespace pm
