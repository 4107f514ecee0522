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

// IRN Eq. 11's affinities of direction `dir`, raised to β: entry p is the pair of pixel p with
// p + dir, 0 where p + dir is outside the map (the public code pads the map with boundary 1).
std::vector<double> direction_affinities(const std::vector<float>& boundary,
                                         int height,
                                         int width,
                                         const PathDirection& dir,
                                         double beta) {
  std::vector<double> a(boundary.size(), 0.0);
  for (int y = 0; y < height - dir.dy; ++y) {
    for (int x = std::max(0, -dir.dx); x < std::min(width, width - dir.dx); ++x) {
      const size_t p = static_cast<size_t>(y) * width + x;
      a[p] = std::pow(static_cast<double>(1.0f - path_boundary_max(boundary, width, p, dir)), beta);
    }
  }
  return a;
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
  TransitionMatrix t;
  t.height = height;
  t.width = width;
  t.steps.push_back({0, 0});
  for (const PathDirection& dir : dirs) {
    t.steps.push_back({dir.dy, dir.dx});
    t.steps.push_back({-dir.dy, -dir.dx});
  }
  // Entry 0: a_jj = 1. Entries 2d+1 and 2d+2: the pair of j with j + dir and with j − dir, whose
  // affinities are those of the pairs (j, j + dir) and (j − dir, j).
  std::vector<std::vector<double>> pairs;
  for (const PathDirection& dir : dirs)
    pairs.push_back(direction_affinities(boundary, height, width, dir, options.beta));
  t.weights.assign(t.steps.size() * n, 0.0f);
  std::vector<double> column(t.steps.size());
  for (int y = 0; y < height; ++y) {
    for (int x = 0; x < width; ++x) {
      const size_t j = static_cast<size_t>(y) * width + x;
      column[0] = 1.0;
      double sum = 1.0;
      for (size_t d = 0; d < dirs.size(); ++d) {
        const int sy = y - dirs[d].dy, sx = x - dirs[d].dx;  // j − dir
        const bool back = sy >= 0 && sx >= 0 && sx < width;  // sy < height as dy >= 0
        column[2 * d + 1] = pairs[d][j];
        column[2 * d + 2] = back ? pairs[d][static_cast<size_t>(sy) * width + sx] : 0.0;
        sum += column[2 * d + 1] + column[2 * d + 2];
      }
      for (size_t e = 0; e < column.size(); ++e)
        t.weights[e * n + j] = static_cast<float>(column[e] / sum);  // IRN Eq. 11: Σ_i T_ij = 1
    }
  }
  return t;
}

namespace {

// One step of the walk, y ← y · T, on planes padded by `margin` zeros on every side.
void walk_step(const TransitionMatrix& t,
               int margin,
               const std::vector<float>& from,
               std::vector<float>& to,
               std::vector<float>& row) {
  const int h = t.height, w = t.width;
  const size_t n = static_cast<size_t>(h) * w;
  const size_t pw = static_cast<size_t>(w) + 2 * margin;
  const size_t plane = pw * (static_cast<size_t>(h) + 2 * margin);
  const size_t planes = from.size() / plane;
  for (size_t k = 0; k < planes; ++k) {
    const float* src = from.data() + k * plane;
    float* dst = to.data() + k * plane;
    for (int y = 0; y < h; ++y) {
      std::fill(row.begin(), row.end(), 0.0f);
      for (size_t e = 0; e < t.steps.size(); ++e) {
        const float* weight = t.weights.data() + e * n + static_cast<size_t>(y) * w;
        const float* in = src + (static_cast<size_t>(y + margin + t.steps[e].first)) * pw +
                          static_cast<size_t>(margin + t.steps[e].second);
        for (int x = 0; x < w; ++x)
          row[static_cast<size_t>(x)] += weight[x] * in[x];
      }
      std::copy(row.begin(), row.end(), dst + static_cast<size_t>(y + margin) * pw + margin);
    }
  }
}

}  // namespace

Planes random_walk(const Planes& cams,
                   const std::vector<float>& boundary,
                   const RandomWalkOptions& options) {
  const int h = cams.height();
  const int w = cams.width();
  const TransitionMatrix t = transition_matrix(boundary, h, w, options);
  // Planes padded by radius − 1 zeros, so that every stencil entry reads inside its buffer (its
  // weight is 0 where it leaves the map).
  const int margin = options.radius - 1;
  const size_t pw = static_cast<size_t>(w) + 2 * margin;
  const size_t plane = pw * (static_cast<size_t>(h) + 2 * margin);
  const size_t k_count = static_cast<size_t>(cams.channels());
  std::vector<float> y(plane * k_count, 0.0f);
  std::vector<float> next(plane * k_count, 0.0f);
  for (size_t k = 0; k < k_count; ++k) {
    for (int yy = 0; yy < h; ++yy) {
      for (int xx = 0; xx < w; ++xx) {
        const size_t p = static_cast<size_t>(yy) * w + xx;
        y[k * plane + static_cast<size_t>(yy + margin) * pw + xx + margin] =
            cams.plane(static_cast<int>(k))[p] * (1.0f - boundary[p]);
      }
    }
  }
  // IRN Eq. 12: y · T, 2^exp_times times (= y · T^(2^exp_times), the public code's squarings).
  std::vector<float> row(static_cast<size_t>(w));
  for (long s = 0; s < (1L << options.exp_times); ++s) {
    walk_step(t, margin, y, next, row);
    y.swap(next);
  }
  Planes out(cams.channels(), h, w);
  for (size_t k = 0; k < k_count; ++k) {
    for (int yy = 0; yy < h; ++yy) {
      for (int xx = 0; xx < w; ++xx)
        out.at(static_cast<int>(k), yy, xx) =
            y[k * plane + static_cast<size_t>(yy + margin) * pw + xx + margin];
    }
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
