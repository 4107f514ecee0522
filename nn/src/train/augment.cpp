// SPDX-License-Identifier: MIT
#include "pseudomask/nn/train/augment.h"

#include <algorithm>
#include <cmath>

#include "pseudomask/core/common/error.h"
#include "pseudomask/core/common/resize.h"

namespace pm::nn {
namespace {

/// ITU-R 601 luma weights, as torchvision's rgb_to_grayscale.
constexpr float kLuma[3] = {0.299f, 0.587f, 0.114f};

float clamp01(float v) {
  return std::min(1.0f, std::max(0.0f, v));
}

float luma(const float* p) {
  return kLuma[0] * p[0] + kLuma[1] * p[1] + kLuma[2] * p[2];
}

void rgb_to_hsv(const float* rgb, float* hsv) {
  const float mx = std::max({rgb[0], rgb[1], rgb[2]});
  const float mn = std::min({rgb[0], rgb[1], rgb[2]});
  const float d = mx - mn;
  float h = 0.0f;
  if (d > 0) {
    if (mx == rgb[0])
      h = std::fmod((rgb[1] - rgb[2]) / d + 6.0f, 6.0f);
    else if (mx == rgb[1])
      h = (rgb[2] - rgb[0]) / d + 2.0f;
    else
      h = (rgb[0] - rgb[1]) / d + 4.0f;
  }
  hsv[0] = h / 6.0f;
  hsv[1] = mx > 0 ? d / mx : 0.0f;
  hsv[2] = mx;
}

void hsv_to_rgb(const float* hsv, float* rgb) {
  const float h6 = hsv[0] * 6.0f;
  const float c = hsv[2] * hsv[1];
  const float x = c * (1.0f - std::fabs(std::fmod(h6, 2.0f) - 1.0f));
  const float m = hsv[2] - c;
  float r = 0, g = 0, b = 0;
  switch (static_cast<int>(h6) % 6) {
    case 0:
      r = c, g = x;
      break;
    case 1:
      r = x, g = c;
      break;
    case 2:
      g = c, b = x;
      break;
    case 3:
      g = x, b = c;
      break;
    case 4:
      r = x, b = c;
      break;
    default:
      r = c, b = x;
      break;
  }
  rgb[0] = r + m;
  rgb[1] = g + m;
  rgb[2] = b + m;
}

/// IRN's random_crop offsets along one axis: where the image starts in the canvas and where the
/// crop starts in the image.
std::pair<int, int> crop_offsets(int size, int crop, Rng& rng) {
  const int space = size - crop;
  if (space > 0)
    return {0, static_cast<int>(rng.integer(0, space))};
  return {static_cast<int>(rng.integer(0, -space)), 0};
}

}  // namespace

Rng Rng::from(uint64_t a, uint64_t b, uint64_t c) {
  Rng r(a * 0x9E3779B97F4A7C15ull ^ (b + 0x632BE59BD9B4E019ull));
  r.state_ ^= r.next() + c * 0xD1B54A32D192ED03ull;
  r.next();
  return r;
}

std::vector<size_t> epoch_order(size_t n, uint64_t seed, uint64_t stream, int epoch) {
  std::vector<size_t> order(n);
  for (size_t i = 0; i < n; ++i)
    order[i] = i;
  Rng rng = Rng::from(seed, stream, static_cast<uint64_t>(epoch));
  for (size_t i = n; i > 1; --i)
    std::swap(order[i - 1],
              order[static_cast<size_t>(rng.integer(0, static_cast<int64_t>(i) - 1))]);
  return order;
}

uint64_t Rng::next() {
  uint64_t z = (state_ += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

double Rng::uniform() {
  return static_cast<double>(next() >> 11) * 0x1.0p-53;
}

int64_t Rng::integer(int64_t lo, int64_t hi) {
  const auto span = static_cast<uint64_t>(hi - lo) + 1;
  return lo + static_cast<int64_t>(next() % span);
}

void AugmentOptions::validate() const {
  PM_CHECK(resize_long_min >= 1 && resize_long_min <= resize_long_max,
           "AugmentOptions::resize_long_min/max {},{}: expected 1 <= min <= max",
           resize_long_min,
           resize_long_max);
  PM_CHECK(crop >= 1, "AugmentOptions::crop {}: must be positive", crop);
  PM_CHECK(jitter.brightness >= 0 && jitter.contrast >= 0 && jitter.saturation >= 0 &&
               jitter.hue >= 0 && jitter.hue <= 0.5f,
           "AugmentOptions::jitter: strengths must be >= 0 and hue <= 0.5");
}

void normalize_image(const RgbImage& image, float* out) {
  const size_t n = image.num_pixels();
  for (size_t i = 0; i < n; ++i) {
    for (int c = 0; c < 3; ++c) {
      const float v = image.pixels[i * 3 + c] / 255.0f;
      out[c * n + i] = (v - kImageNetMean[c]) / kImageNetStd[c];
    }
  }
}

void color_jitter(std::vector<float>& rgb, const ColorJitter& j, Rng& rng) {
  const size_t n = rgb.size() / 3;
  const float b = static_cast<float>(rng.uniform(1.0 - j.brightness, 1.0 + j.brightness));
  const float c = static_cast<float>(rng.uniform(1.0 - j.contrast, 1.0 + j.contrast));
  const float s = static_cast<float>(rng.uniform(1.0 - j.saturation, 1.0 + j.saturation));
  const float h = static_cast<float>(rng.uniform(-j.hue, j.hue));
  for (float& v : rgb)
    v = clamp01(v * b);
  double mean = 0;  // contrast blends with the mean grey level of the image
  for (size_t i = 0; i < n; ++i)
    mean += luma(&rgb[i * 3]);
  const float m = n ? static_cast<float>(mean / static_cast<double>(n)) : 0.0f;
  for (float& v : rgb)
    v = clamp01(c * v + (1.0f - c) * m);
  for (size_t i = 0; i < n; ++i) {  // saturation blends with the pixel's own grey level
    float* p = &rgb[i * 3];
    const float g = luma(p);
    for (int k = 0; k < 3; ++k)
      p[k] = clamp01(s * p[k] + (1.0f - s) * g);
  }
  if (h == 0.0f)
    return;
  for (size_t i = 0; i < n; ++i) {
    float hsv[3];
    rgb_to_hsv(&rgb[i * 3], hsv);
    hsv[0] = std::fmod(hsv[0] + h + 1.0f, 1.0f);
    hsv_to_rgb(hsv, &rgb[i * 3]);
  }
}

void augment_image(const RgbImage& image, const AugmentOptions& o, Rng& rng, float* out) {
  PM_CHECK(image.width > 0 && image.height > 0, "augment: empty image");
  // IRN RandomResizeLong: the long side becomes a uniform draw in [min, max].
  const auto target = static_cast<double>(rng.integer(o.resize_long_min, o.resize_long_max));
  const double scale = target / std::max(image.width, image.height);
  const int w = std::max(1, static_cast<int>(std::lround(image.width * scale)));
  const int h = std::max(1, static_cast<int>(std::lround(image.height * scale)));
  const RgbImage resized =
      (w == image.width && h == image.height) ? image : resize_bilinear(image, w, h);
  const bool flip = o.flip && rng.uniform() < 0.5;
  std::vector<float> rgb(resized.pixels.size());
  for (size_t i = 0; i < rgb.size(); ++i)
    rgb[i] = resized.pixels[i] / 255.0f;
  color_jitter(rgb, o.jitter, rng);
  // IRN random_crop: a crop x crop canvas of zeros (the mean colour after normalisation).
  const auto [canvas_y, image_y] = crop_offsets(h, o.crop, rng);
  const auto [canvas_x, image_x] = crop_offsets(w, o.crop, rng);
  const int rows = std::min(o.crop - canvas_y, h - image_y);
  const int cols = std::min(o.crop - canvas_x, w - image_x);
  const size_t plane = static_cast<size_t>(o.crop) * o.crop;
  std::fill(out, out + 3 * plane, 0.0f);
  for (int y = 0; y < rows; ++y) {
    for (int x = 0; x < cols; ++x) {
      const int sx = flip ? w - 1 - (image_x + x) : image_x + x;
      const float* p = &rgb[(static_cast<size_t>(image_y + y) * w + sx) * 3];
      const size_t o_idx = static_cast<size_t>(canvas_y + y) * o.crop + canvas_x + x;
      for (int c = 0; c < 3; ++c)
        out[c * plane + o_idx] = (p[c] - kImageNetMean[c]) / kImageNetStd[c];
    }
  }
}

}  // namespace pm::nn
