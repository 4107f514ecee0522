// SPDX-License-Identifier: MIT
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace pm {

/// An 8-bit RGB image, row-major, interleaved: pixels[(y * width + x) * 3 + c], c = R, G, B.
struct RgbImage {
  int width = 0;
  int height = 0;
  std::vector<uint8_t> pixels;

  RgbImage() = default;
  RgbImage(int w, int h) : width(w), height(h), pixels(static_cast<size_t>(w) * h * 3, 0) {}
  size_t num_pixels() const { return static_cast<size_t>(width) * height; }
};

/// The label value that means "ignore" (VOC boundary / void).
constexpr uint8_t kIgnoreLabel = 255;

/// An 8-bit label map, row-major: labels[y * width + x]; 255 = ignore.
struct LabelMap {
  int width = 0;
  int height = 0;
  std::vector<uint8_t> labels;

  LabelMap() = default;
  LabelMap(int w, int h, uint8_t fill = 0)
      : width(w), height(h), labels(static_cast<size_t>(w) * h, fill) {}
  size_t num_pixels() const { return static_cast<size_t>(width) * height; }
  uint8_t at(int x, int y) const { return labels[static_cast<size_t>(y) * width + x]; }
  uint8_t& at(int x, int y) { return labels[static_cast<size_t>(y) * width + x]; }
};

/// Per-pixel loss weights as bytes W8, the weight being W8 / 255: the form URN's label files
/// store them in (URN Eq. 11). A weight map is not a label map: its bytes are never classes.
struct WeightMap {
  int width = 0;
  int height = 0;
  std::vector<uint8_t> bytes;

  WeightMap() = default;
  WeightMap(int w, int h, uint8_t fill = 255)
      : width(w), height(h), bytes(static_cast<size_t>(w) * h, fill) {}
  size_t num_pixels() const { return static_cast<size_t>(width) * height; }
  /// The weight of pixel p (row-major): bytes[p] / 255.
  float weight(size_t p) const { return static_cast<float>(bytes[p]) / 255.0f; }
};

}  // namespace pm
