// SPDX-License-Identifier: MIT
#include "pseudomask/core/common/resize.h"

#include <algorithm>
#include <cmath>

#include "pseudomask/core/common/error.h"

namespace pm {
namespace {

// Source coordinate of output index i for a resize from `in` to `out` samples (half-pixel
// centres), split into the lower index, the upper index and the upper weight.
struct Tap {
  int lo;
  int hi;
  float w;
};

std::vector<Tap> bilinear_taps(int in, int out) {
  std::vector<Tap> taps(static_cast<size_t>(out));
  const float scale = static_cast<float>(in) / static_cast<float>(out);
  for (int i = 0; i < out; ++i) {
    float src = (static_cast<float>(i) + 0.5f) * scale - 0.5f;
    src = std::max(src, 0.0f);
    const int lo = std::min(static_cast<int>(src), in - 1);
    const int hi = std::min(lo + 1, in - 1);
    taps[static_cast<size_t>(i)] = {lo, hi, src - static_cast<float>(lo)};
  }
  return taps;
}

void check_size(int w, int h) {
  PM_CHECK(w > 0 && h > 0 && static_cast<int64_t>(w) * h <= (int64_t{1} << 34),
           "cannot resize to {}x{}",
           w,
           h);
}

}  // namespace

Planes resize_planes_bilinear(const Planes& planes, int out_h, int out_w) {
  check_size(out_w, out_h);
  const int c_count = planes.channels(), in_h = planes.height(), in_w = planes.width();
  PM_CHECK(in_h > 0 && in_w > 0, "cannot resize empty planes {}", planes.describe());
  Planes out(c_count, out_h, out_w);
  const auto tx = bilinear_taps(in_w, out_w), ty = bilinear_taps(in_h, out_h);
  const float* src = planes.data();
  float* dst = out.data();
  for (int c = 0; c < c_count; ++c) {
    const float* plane = src + static_cast<size_t>(c) * in_h * in_w;
    for (int y = 0; y < out_h; ++y) {
      const Tap& v = ty[static_cast<size_t>(y)];
      const float* r0 = plane + static_cast<size_t>(v.lo) * in_w;
      const float* r1 = plane + static_cast<size_t>(v.hi) * in_w;
      float* o = dst + (static_cast<size_t>(c) * out_h + y) * out_w;
      for (int x = 0; x < out_w; ++x) {
        const Tap& u = tx[static_cast<size_t>(x)];
        const float top = r0[u.lo] + (r0[u.hi] - r0[u.lo]) * u.w;
        const float bottom = r1[u.lo] + (r1[u.hi] - r1[u.lo]) * u.w;
        o[x] = top + (bottom - top) * v.w;
      }
    }
  }
  return out;
}

RgbImage resize_bilinear(const RgbImage& image, int out_w, int out_h) {
  check_size(out_w, out_h);
  PM_CHECK(image.width > 0 && image.height > 0, "cannot resize an empty image");
  RgbImage out(out_w, out_h);
  const auto tx = bilinear_taps(image.width, out_w), ty = bilinear_taps(image.height, out_h);
  for (int y = 0; y < out_h; ++y) {
    const Tap& v = ty[static_cast<size_t>(y)];
    for (int x = 0; x < out_w; ++x) {
      const Tap& u = tx[static_cast<size_t>(x)];
      for (int c = 0; c < 3; ++c) {
        auto at = [&](int xx, int yy) {
          return static_cast<float>(
              image.pixels[(static_cast<size_t>(yy) * image.width + xx) * 3 + c]);
        };
        const float top = at(u.lo, v.lo) + (at(u.hi, v.lo) - at(u.lo, v.lo)) * u.w;
        const float bottom = at(u.lo, v.hi) + (at(u.hi, v.hi) - at(u.lo, v.hi)) * u.w;
        const float value = top + (bottom - top) * v.w;
        out.pixels[(static_cast<size_t>(y) * out_w + x) * 3 + c] =
            static_cast<uint8_t>(std::min(255.0f, std::max(0.0f, std::round(value))));
      }
    }
  }
  return out;
}

LabelMap resize_nearest(const LabelMap& labels, int out_w, int out_h) {
  check_size(out_w, out_h);
  PM_CHECK(labels.width > 0 && labels.height > 0, "cannot resize an empty label map");
  LabelMap out(out_w, out_h);
  for (int y = 0; y < out_h; ++y) {
    const int sy = std::min(labels.height - 1, static_cast<int>((y + 0.5) * labels.height / out_h));
    for (int x = 0; x < out_w; ++x) {
      const int sx = std::min(labels.width - 1, static_cast<int>((x + 0.5) * labels.width / out_w));
      out.at(x, y) = labels.at(sx, sy);
    }
  }
  return out;
}

}  // namespace pm
