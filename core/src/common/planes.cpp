// SPDX-License-Identifier: MIT
#include "pseudomask/core/common/planes.h"

#include <algorithm>
#include <cstddef>
#include <cstring>
#include <limits>

#include <fmt/format.h>

#include "pseudomask/core/common/error.h"
#include "pseudomask/core/common/ndarray.h"

namespace pm {
namespace {

/// The (W+1)×(H+1) summed-area table of a plane: entry (x, y) is the sum over [0, x) × [0, y).
std::vector<double> integral_image(const float* plane, int w, int h) {
  const size_t stride = static_cast<size_t>(w) + 1;
  std::vector<double> integral(stride * (static_cast<size_t>(h) + 1), 0.0);
  for (int y = 0; y < h; ++y) {
    for (int x = 0; x < w; ++x) {
      integral[(y + 1) * stride + x + 1] =
          plane[static_cast<size_t>(y) * w + x] + integral[y * stride + x + 1] +
          integral[(y + 1) * stride + x] - integral[y * stride + x];
    }
  }
  return integral;
}

}  // namespace

Planes::Planes(int channels, int height, int width, float fill)
    : channels_(channels), height_(height), width_(width) {
  PM_CHECK(channels >= 0 && height >= 0 && width >= 0,
           "Planes: negative size ({}, {}, {})",
           channels,
           height,
           width);
  values_.assign(static_cast<size_t>(channels) * pixels(), fill);
}

Planes::Planes(int channels, int height, int width, std::vector<float> values)
    : Planes(channels, height, width) {
  PM_CHECK(values.size() == values_.size(),
           "Planes: {} values for ({}, {}, {}), expected {}",
           values.size(),
           channels,
           height,
           width,
           values_.size());
  values_ = std::move(values);
}

std::string Planes::describe() const {
  return fmt::format("({}, {}, {})", channels_, height_, width_);
}

Planes planes_from_ndarray(const NDArray& array, const std::string& name, const char* what) {
  if (array.empty())
    return {};
  PM_CHECK(array.ndim() == 3, "{}: {} is {}, expected (C, H, W)", name, what, array.describe());
  constexpr int64_t kMax = std::numeric_limits<int>::max();
  PM_CHECK(array.dim(0) <= kMax && array.dim(1) <= kMax && array.dim(2) <= kMax,
           "{}: {} is {}, too large",
           name,
           what,
           array.describe());
  Planes planes(static_cast<int>(array.dim(0)),
                static_cast<int>(array.dim(1)),
                static_cast<int>(array.dim(2)));
  if (planes.empty())
    return planes;  // (0, H, W) or (C, 0, W): no bytes to copy (memcpy takes no null pointers)
  if (array.dtype() == DType::kF32) {
    std::memcpy(planes.data(), array.data<float>(), planes.size() * sizeof(float));
  } else {
    const NDArray f32 = array.astype(DType::kF32);
    std::memcpy(planes.data(), f32.data<float>(), planes.size() * sizeof(float));
  }
  return planes;
}

NDArray planes_to_ndarray(const Planes& planes) {
  NDArray out(DType::kF32, {planes.channels(), planes.height(), planes.width()});
  if (!planes.empty())
    std::memcpy(out.data<float>(), planes.data(), planes.size() * sizeof(float));
  return out;
}

Planes select_planes(const Planes& planes, const std::vector<int>& order) {
  Planes out(static_cast<int>(order.size()), planes.height(), planes.width());
  for (size_t k = 0; k < order.size(); ++k) {
    const int c = order[k];
    PM_CHECK(c >= 0 && c < planes.channels(),
             "select_planes: plane {} is out of range for {} planes",
             c,
             planes.channels());
    std::copy_n(planes.plane(c), planes.pixels(), out.plane(static_cast<int>(k)));
  }
  return out;
}

Planes box_blur(const Planes& planes, int r) {
  PM_CHECK(r >= 0, "box_blur: radius {} is negative", r);
  const int w = planes.width(), h = planes.height();
  const size_t stride = static_cast<size_t>(w) + 1;
  Planes out(planes.channels(), h, w);
  for (int c = 0; c < planes.channels(); ++c) {
    const std::vector<double> integral = integral_image(planes.plane(c), w, h);
    auto at = [&](int x, int y) { return integral[static_cast<size_t>(y) * stride + x]; };
    float* dst = out.plane(c);
    for (int y = 0; y < h; ++y) {
      for (int x = 0; x < w; ++x) {
        const int x0 = std::max(0, x - r), x1 = std::min(w, x + r + 1);
        const int y0 = std::max(0, y - r), y1 = std::min(h, y + r + 1);
        const double sum = at(x1, y1) - at(x0, y1) - at(x1, y0) + at(x0, y0);
        dst[static_cast<size_t>(y) * w + x] = static_cast<float>(sum / ((x1 - x0) * (y1 - y0)));
      }
    }
  }
  return out;
}

LabelMap argmax_labels(const Planes& planes) {
  const int labels = planes.channels();
  PM_CHECK(labels >= 1 && labels <= 256, "argmax_labels: {} planes, expected 1 to 256", labels);
  LabelMap out(planes.width(), planes.height());
  const size_t n = out.num_pixels();
  const float* values = planes.data();
  for (size_t p = 0; p < n; ++p) {
    int best = 0;
    for (int l = 1; l < labels; ++l) {
      if (values[static_cast<size_t>(l) * n + p] > values[static_cast<size_t>(best) * n + p])
        best = l;
    }
    out.labels[p] = static_cast<uint8_t>(best);
  }
  return out;
}

}  // namespace pm
