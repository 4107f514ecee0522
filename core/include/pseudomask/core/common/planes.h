// SPDX-License-Identifier: MIT
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "pseudomask/core/common/image.h"

namespace pm {

class NDArray;

/// (C, H, W) float32 planes in C order, owning their values: class scores, probabilities, CAMs,
/// CRF unaries and marginals, weight maps. The one type in which core's public functions take and
/// return per-class maps; a plane c is the H×W row-major block starting at plane(c).
class Planes {
 public:
  /// No planes: (0, 0, 0).
  Planes() = default;
  /// (channels, height, width) planes filled with `fill`. Throws on negative sizes.
  Planes(int channels, int height, int width, float fill = 0.0f);
  /// (channels, height, width) planes holding `values` (channels·height·width of them, C order);
  /// throws when the count differs.
  Planes(int channels, int height, int width, std::vector<float> values);

  int channels() const { return channels_; }
  int height() const { return height_; }
  int width() const { return width_; }
  /// H·W, the values per plane.
  size_t pixels() const { return static_cast<size_t>(height_) * width_; }
  /// C·H·W.
  size_t size() const { return values_.size(); }
  bool empty() const { return values_.empty(); }
  /// "(C, H, W)", for messages.
  std::string describe() const;

  float* data() { return values_.data(); }
  const float* data() const { return values_.data(); }
  float* plane(int c) { return values_.data() + static_cast<size_t>(c) * pixels(); }
  const float* plane(int c) const { return values_.data() + static_cast<size_t>(c) * pixels(); }
  float& at(int c, int y, int x) { return plane(c)[static_cast<size_t>(y) * width_ + x]; }
  float at(int c, int y, int x) const { return plane(c)[static_cast<size_t>(y) * width_ + x]; }
  const std::vector<float>& values() const { return values_; }
  std::vector<float>& values() { return values_; }

 private:
  int channels_ = 0;
  int height_ = 0;
  int width_ = 0;
  std::vector<float> values_;
};

/// A 3-D numeric array (any dtype, converted to float32) as Planes; throws "<name>: <what> is
/// <shape dtype>, expected (C, H, W)" for any other rank. An empty array gives empty Planes.
Planes planes_from_ndarray(const NDArray& array, const std::string& name, const char* what);
/// Planes as a (C, H, W) float32 array (for writing .npy/.npz and CAM files).
NDArray planes_to_ndarray(const Planes& planes);

/// The planes order[0], order[1], ... of `planes` as a new stack (an index may repeat); throws
/// naming an index out of range.
Planes select_planes(const Planes& planes, const std::vector<int>& order);

/// Box blur of every plane: each pixel becomes the mean over the (2·radius+1)² window around it,
/// clipped to the image at the borders (the clipped window's mean, not a padded one). Sums in
/// double through an integral image, so the cost does not depend on the radius.
Planes box_blur(const Planes& planes, int radius);

/// Per pixel, the index of the largest plane; the lowest index wins ties, as np.argmax does.
/// 1 to 256 planes.
LabelMap argmax_labels(const Planes& planes);

}  // namespace pm
