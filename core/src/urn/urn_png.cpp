// SPDX-License-Identifier: MIT
// The official URN label file (M_c and URN Eq. 11's W in one PNG): cv2 writes [M_c, W8, W8] as
// B, G, R.
#include "pseudomask/core/urn/urn_png.h"

#include <algorithm>
#include <cmath>

#include "pseudomask/core/common/error.h"
#include "pseudomask/core/io/image/image_io.h"
#include "pseudomask/core/io/image/label_io.h"

namespace pm {

RgbImage urn_official_image(const LabelMap& mask, const WeightMap& weight_byte) {
  PM_CHECK(mask.width == weight_byte.width && mask.height == weight_byte.height,
           "URN mask is {}x{} but its weight map is {}x{}",
           mask.width,
           mask.height,
           weight_byte.width,
           weight_byte.height);
  RgbImage image(mask.width, mask.height);
  for (size_t p = 0; p < mask.num_pixels(); ++p) {
    image.pixels[3 * p + 0] = weight_byte.bytes[p];  // R = W8 (cv2 channel 2)
    image.pixels[3 * p + 1] = weight_byte.bytes[p];  // G = W8 (cv2 channel 1)
    image.pixels[3 * p + 2] = mask.labels[p];        // B = M_c (cv2 channel 0)
  }
  return image;
}

UrnLabel split_urn_official_image(const RgbImage& image, const std::string& name) {
  UrnLabel out{LabelMap(image.width, image.height), WeightMap(image.width, image.height)};
  for (size_t p = 0; p < image.num_pixels(); ++p) {
    const uint8_t r = image.pixels[3 * p], g = image.pixels[3 * p + 1];
    PM_CHECK(r == g,
             "{}: not an URN label file: R ({}) and G ({}) differ at pixel (x={}, y={}); expected "
             "R = G = weight, B = label",
             name,
             r,
             g,
             p % static_cast<size_t>(image.width),
             p / static_cast<size_t>(image.width));
    out.weight_byte.bytes[p] = g;
    out.mask.labels[p] = image.pixels[3 * p + 2];
  }
  return out;
}

void write_urn_png(const std::string& path, const LabelMap& mask, const WeightMap& weight_byte) {
  write_png_rgb(path, urn_official_image(mask, weight_byte));
}

UrnLabel read_urn_png(const std::string& path) {
  return split_urn_official_image(read_image(path), path);
}

WeightMap weight_to_gray(const Planes& weight) {
  PM_CHECK(weight.channels() == 1,
           "weight_to_gray: weights are {}, expected (1, H, W)",
           weight.describe());
  WeightMap out(weight.width(), weight.height());
  for (size_t p = 0; p < weight.size(); ++p) {
    const float w = std::clamp(weight.data()[p], 0.0f, 1.0f);
    out.bytes[p] = static_cast<uint8_t>(std::lround(w * 255.0f));
  }
  return out;
}

void write_weight_png(const std::string& path, const WeightMap& weights) {
  LabelMap gray(weights.width, weights.height);
  gray.labels = weights.bytes;
  write_gray_png(path, gray);
}

WeightMap read_weight_png(const std::string& path) {
  const RgbImage rgb = read_image(path);
  WeightMap w(rgb.width, rgb.height);
  for (size_t i = 0; i < w.num_pixels(); ++i)
    w.bytes[i] = rgb.pixels[i * 3];
  return w;
}

}  // namespace pm
