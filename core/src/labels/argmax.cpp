// SPDX-License-Identifier: MIT
#include "pseudomask/core/labels/argmax.h"

#include <cmath>

#include "pseudomask/core/common/error.h"
#include "pseudomask/core/common/planes.h"
#include "pseudomask/core/io/numpy/npy.h"

namespace pm {
namespace {

// The image size of a (C, H, W) array, or the given size for a (C, H·W) one.
void map_size(const NDArray& a, const std::string& path, int* width, int* height) {
  if (*width > 0 && *height > 0) {
    const bool chw = a.ndim() == 3 && a.dim(1) == *height && a.dim(2) == *width;
    const bool cn = a.ndim() == 2 && a.dim(1) == static_cast<int64_t>(*width) * *height;
    PM_CHECK(chw || cn,
             "{}: expected (C, {}, {}) or (C, {}) probabilities for a {}x{} image, got {}",
             path,
             *height,
             *width,
             static_cast<int64_t>(*width) * *height,
             *width,
             *height,
             a.describe());
    return;
  }
  PM_CHECK(a.ndim() == 3 && a.dim(1) > 0 && a.dim(2) > 0,
           "{}: expected (C, H, W) probabilities, got {}",
           path,
           a.describe());
  *height = static_cast<int>(a.dim(1));
  *width = static_cast<int>(a.dim(2));
}

}  // namespace

LabelMap argmax_probability_file(const std::string& path, int width, int height) {
  const NDArray a = read_npy(path);
  PM_CHECK(a.dtype() == DType::kF16 || a.dtype() == DType::kF32 || a.dtype() == DType::kF64,
           "{}: expected float16/32/64 probabilities, got {}",
           path,
           dtype_name(a.dtype()));
  map_size(a, path, &width, &height);
  PM_CHECK(a.dim(0) >= 1 && a.dim(0) <= 255,
           "{}: {} planes; labels are 8-bit with 255 the ignore label (1..255 planes)",
           path,
           a.dim(0));
  const Planes planes(static_cast<int>(a.dim(0)), height, width, a.to_float_vector());
  for (float v : planes.values())
    PM_CHECK(!std::isnan(v), "{}: contains NaN", path);
  return argmax_labels(planes);
}

}  // namespace pm
