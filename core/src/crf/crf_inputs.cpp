// SPDX-License-Identifier: MIT
#include "pseudomask/core/crf/crf_inputs.h"

#include <algorithm>
#include <cmath>

#include "pseudomask/core/common/error.h"
#include "pseudomask/core/io/numpy/npy.h"
#include "pseudomask/core/io/numpy/npz.h"

namespace pm {

namespace {

/// The array of a .npy, or the one array of a .npz (np.savez_compressed(f, probs)).
NDArray read_planes_array(const std::string& path) {
  const std::string ext = path.size() >= 4 ? path.substr(path.size() - 4) : "";
  if (ext != ".npz" && ext != ".NPZ")
    return read_npy(path);
  std::map<std::string, NDArray> arrays = read_npz(path);
  PM_CHECK(arrays.size() == 1, "{}: expected one array in the .npz, found {}", path, arrays.size());
  return std::move(arrays.begin()->second);
}

// The image size of a (C, H, W) array; or, where the size is given, a check that the array is
// (C, height, width) or (C, height·width).
void planes_size(const NDArray& a, const std::string& path, int* width, int* height) {
  if (*width <= 0 || *height <= 0) {
    PM_CHECK(a.ndim() == 3 && a.dim(1) > 0 && a.dim(2) > 0,
             "{}: expected (C, H, W) planes, got {}",
             path,
             a.describe());
    *height = static_cast<int>(a.dim(1));
    *width = static_cast<int>(a.dim(2));
    return;
  }
  const int64_t n = static_cast<int64_t>(*width) * *height;
  const bool chw = a.ndim() == 3 && a.dim(1) == *height && a.dim(2) == *width;
  const bool cn = a.ndim() == 2 && a.dim(1) == n;
  PM_CHECK(chw || cn,
           "{}: expected (C, {}, {}) or (C, {}) planes for a {}x{} image, got {}",
           path,
           *height,
           *width,
           n,
           *width,
           *height,
           a.describe());
}

}  // namespace

Planes read_label_planes(const std::string& path, int width, int height) {
  const NDArray a = read_planes_array(path);
  planes_size(a, path, &width, &height);
  PM_CHECK(a.dtype() == DType::kF16 || a.dtype() == DType::kF32 || a.dtype() == DType::kF64,
           "{}: expected float16/32/64 planes, got {}",
           path,
           dtype_name(a.dtype()));
  PM_CHECK(
      a.dim(0) >= 1 && a.dim(0) <= 256, "{}: {} label planes (1..256 supported)", path, a.dim(0));
  Planes planes(static_cast<int>(a.dim(0)), height, width, a.to_float_vector());
  for (float v : planes.values())
    PM_CHECK(!std::isnan(v), "{}: contains NaN", path);
  return planes;
}

void softmax_labels(Planes& logits) {
  const int labels = logits.channels();
  const size_t n = logits.pixels();
  float* planes = logits.data();
  for (size_t p = 0; p < n; ++p) {
    float mx = planes[p];
    for (int l = 1; l < labels; ++l)
      mx = std::max(mx, planes[static_cast<size_t>(l) * n + p]);
    double sum = 0;
    for (int l = 0; l < labels; ++l)
      sum += std::exp(static_cast<double>(planes[static_cast<size_t>(l) * n + p] - mx));
    for (int l = 0; l < labels; ++l) {
      float& v = planes[static_cast<size_t>(l) * n + p];
      v = static_cast<float>(std::exp(static_cast<double>(v - mx)) / sum);
    }
  }
}

Unary unary_from_label_map(const LabelMap& labels,
                           int num_labels,
                           double gt_prob,
                           const std::string& name) {
  int top = 0;
  for (uint8_t v : labels.labels) {
    if (v != kIgnoreLabel)
      top = std::max(top, static_cast<int>(v));
  }
  const int m = num_labels > 0 ? num_labels : std::max(2, top + 1);
  PM_CHECK(top < m, "{}: label {} is out of range for {} CRF labels", name, top, m);
  // Shift to pydensecrf's zero_unsure convention: 0 = unknown, l + 1 = label l.
  LabelMap shifted = labels;
  for (uint8_t& v : shifted.labels)
    v = v == kIgnoreLabel ? 0 : static_cast<uint8_t>(v + 1);
  return unary_from_labels(shifted, m, gt_prob, /*zero_unsure=*/true);
}

}  // namespace pm
