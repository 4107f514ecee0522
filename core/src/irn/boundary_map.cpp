// SPDX-License-Identifier: MIT
#include <cmath>

#include "pseudomask/core/common/error.h"
#include "pseudomask/core/io/image/image_io.h"
#include "pseudomask/core/io/image/label_io.h"
#include "pseudomask/core/io/numpy/npy.h"
#include "pseudomask/core/irn/random_walk.h"

namespace pm {
namespace {

bool has_extension(const std::string& path, const char* ext) {
  const std::string e(ext);
  return path.size() >= e.size() && path.compare(path.size() - e.size(), e.size(), e) == 0;
}

std::vector<float> boundary_from_npy(const std::string& path, int height, int width) {
  const NDArray a = read_npy(path);
  const bool hw = a.ndim() == 2 && a.dim(0) == height && a.dim(1) == width;
  const bool one_hw = a.ndim() == 3 && a.dim(0) == 1 && a.dim(1) == height && a.dim(2) == width;
  PM_CHECK(hw || one_hw,
           "{}: expected a ({}, {}) boundary map, got {}",
           path,
           height,
           width,
           a.describe());
  PM_CHECK(a.dtype() == DType::kF16 || a.dtype() == DType::kF32 || a.dtype() == DType::kF64,
           "{}: expected float16/32/64 boundaries, got {}",
           path,
           dtype_name(a.dtype()));
  return a.to_float_vector();
}

std::vector<float> boundary_from_png(const std::string& path, int height, int width) {
  const RgbImage image = read_image(path);
  PM_CHECK(image.height == height && image.width == width,
           "{}: a {}x{} boundary map, expected {}x{}",
           path,
           image.width,
           image.height,
           width,
           height);
  std::vector<float> b(image.num_pixels());
  for (size_t p = 0; p < b.size(); ++p)
    b[p] = static_cast<float>(image.pixels[3 * p]) / 255.0f;
  return b;
}

}  // namespace

std::vector<float> read_boundary_map(const std::string& path, int height, int width) {
  std::vector<float> b = has_extension(path, ".npy") ? boundary_from_npy(path, height, width)
                                                     : boundary_from_png(path, height, width);
  for (size_t p = 0; p < b.size(); ++p) {
    PM_CHECK(b[p] >= 0.0f && b[p] <= 1.0f,
             "{}: boundary value {} at pixel {} is not in [0, 1]",
             path,
             b[p],
             p);
  }
  return b;
}

void write_boundary_png(const std::string& path,
                        const std::vector<float>& boundary,
                        int height,
                        int width) {
  PM_CHECK(boundary.size() == static_cast<size_t>(height) * width,
           "write_boundary_png: {} values for a {}x{} map",
           boundary.size(),
           width,
           height);
  LabelMap gray(width, height, 0);
  for (size_t p = 0; p < boundary.size(); ++p) {
    const float v = std::min(std::max(boundary[p], 0.0f), 1.0f);
    gray.labels[p] = static_cast<uint8_t>(std::lround(255.0f * v));
  }
  write_gray_png(path, gray);
}

}  // namespace pm
