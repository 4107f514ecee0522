// SPDX-License-Identifier: MIT
#pragma once

// A tiny generated multi-label dataset for training and CAM tests: 32x32 grey images with a red
// (class 0), green (class 1) and/or blue (class 2) square.

#include <string>
#include <vector>

#include "pseudomask/core/common/image.h"
#include "pseudomask/core/io/image/image_io.h"
#include "pseudomask/nn/train/cls_trainer.h"

namespace pm::test {

/// An image of side `size` with a coloured square for each class in `labels`, placed by `seed`.
inline RgbImage tiny_image(const std::vector<int>& labels, int seed, int size = 32) {
  RgbImage img(size, size);
  for (auto& p : img.pixels)
    p = 128;
  for (int c : labels) {
    const int side = size / 3;
    const int x0 = (seed * 7 + c * 11) % (size - side), y0 = (seed * 5 + c * 13) % (size - side);
    for (int y = y0; y < y0 + side; ++y) {
      for (int x = x0; x < x0 + side; ++x) {
        uint8_t* px = &img.pixels[(static_cast<size_t>(y) * size + x) * 3];
        px[0] = px[1] = px[2] = 20;
        px[c] = 235;
      }
    }
  }
  return img;
}

/// `n` samples written as PNGs under `dir`, with label sets cycling over the classes.
inline std::vector<nn::TrainSample> tiny_samples(const std::string& dir, int n) {
  const std::vector<std::vector<int>> sets = {{0}, {1}, {2}, {0, 1}, {1, 2}, {0, 2}};
  std::vector<nn::TrainSample> samples;
  for (int i = 0; i < n; ++i) {
    nn::TrainSample s;
    s.id = "img" + std::to_string(i);
    s.image_path = dir + "/" + s.id + ".png";
    s.labels = sets[static_cast<size_t>(i) % sets.size()];
    write_png_rgb(s.image_path, tiny_image(s.labels, i));
    samples.push_back(s);
  }
  return samples;
}

}  // namespace pm::test
