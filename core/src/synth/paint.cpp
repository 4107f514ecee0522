// SPDX-License-Identifier: MIT
#include "pseudomask/core/synth/paint.h"

#include <algorithm>

#include "pseudomask/core/common/error.h"
#include "pseudomask/core/synth/rng.h"

namespace pm {
namespace {

/// Pixels whose centres lie in [lo, hi] (sub-pixel units), clipped to [0, n).
std::pair<int, int> pixel_span(int64_t lo, int64_t hi, int n) {
  // Centre of pixel i is 16i + 8; the first i with 16i + 8 ≥ lo and the last with ≤ hi.
  const int64_t first = lo <= 8 ? 0 : (lo - 8 + kSubPixel - 1) / kSubPixel;
  const int64_t last = hi < 8 ? -1 : (hi - 8) / kSubPixel;
  return {static_cast<int>(std::max<int64_t>(first, 0)),
          static_cast<int>(std::min<int64_t>(last + 1, n))};
}

int64_t cross(SubPt o, SubPt a, SubPt b) {
  return (a.x - o.x) * (b.y - o.y) - (a.y - o.y) * (b.x - o.x);
}

int64_t squared(int64_t v) {
  return v * v;
}

int clamp_byte(int v) {
  return std::min(255, std::max(0, v));
}

}  // namespace

Shape Shape::ellipse(SubPt centre, int64_t rx, int64_t ry) {
  PM_CHECK(rx > 0 && ry > 0, "Shape::ellipse: radii must be positive, got {} and {}", rx, ry);
  Shape s;
  s.kind_ = Kind::kEllipse;
  s.points_ = {centre};
  s.a_ = rx;
  s.b_ = ry;
  return s;
}

Shape Shape::convex(const std::vector<SubPt>& vertices) {
  PM_CHECK(vertices.size() >= 3 && vertices.size() <= 8,
           "Shape::convex: {} vertices, expected 3 to 8",
           vertices.size());
  Shape s;
  s.kind_ = Kind::kConvex;
  s.points_ = vertices;
  return s;
}

Shape Shape::box(int64_t x0, int64_t y0, int64_t x1, int64_t y1) {
  return convex({{x0, y0}, {x1, y0}, {x1, y1}, {x0, y1}});
}

Shape Shape::capsule(SubPt a, SubPt b, int64_t radius) {
  PM_CHECK(radius > 0, "Shape::capsule: radius must be positive, got {}", radius);
  Shape s;
  s.kind_ = Kind::kCapsule;
  s.points_ = {a, b};
  s.a_ = radius;
  return s;
}

Shape Shape::ring(SubPt centre, int64_t outer, int64_t inner) {
  PM_CHECK(outer > inner && inner >= 0, "Shape::ring: radii {} > {} ≥ 0 expected", outer, inner);
  Shape s;
  s.kind_ = Kind::kRing;
  s.points_ = {centre};
  s.a_ = outer;
  s.b_ = inner;
  return s;
}

bool Shape::covers(int64_t x, int64_t y) const {
  const SubPt p{x, y};
  switch (kind_) {
    case Kind::kEllipse: {
      const int64_t dx = x - points_[0].x, dy = y - points_[0].y;
      return squared(dx * b_) + squared(dy * a_) <= squared(a_ * b_);
    }
    case Kind::kConvex: {
      // Inside iff p is on the same side of every edge (or on one).
      bool neg = false, pos = false;
      for (size_t i = 0; i < points_.size(); ++i) {
        const int64_t c = cross(points_[i], points_[(i + 1) % points_.size()], p);
        neg |= c < 0;
        pos |= c > 0;
      }
      return !(neg && pos);
    }
    case Kind::kCapsule: {
      const SubPt a = points_[0], b = points_[1];
      const int64_t ux = b.x - a.x, uy = b.y - a.y;
      const int64_t len2 = ux * ux + uy * uy;
      const int64_t t = (x - a.x) * ux + (y - a.y) * uy;  // projection · len2
      if (len2 == 0 || t <= 0)
        return squared(x - a.x) + squared(y - a.y) <= squared(a_);
      if (t >= len2)
        return squared(x - b.x) + squared(y - b.y) <= squared(a_);
      // Perpendicular distance² = cross² / len2, compared without division.
      return squared(cross(a, b, p)) <= squared(a_) * len2;
    }
    case Kind::kRing: {
      const int64_t d2 = squared(x - points_[0].x) + squared(y - points_[0].y);
      return d2 <= squared(a_) && d2 > squared(b_);
    }
  }
  return false;
}

PixelBox Shape::bounds(int width, int height) const {
  int64_t x0 = 0, y0 = 0, x1 = 0, y1 = 0;
  switch (kind_) {
    case Kind::kEllipse:
    case Kind::kRing: {
      const int64_t rx = a_, ry = kind_ == Kind::kEllipse ? b_ : a_;
      x0 = points_[0].x - rx;
      x1 = points_[0].x + rx;
      y0 = points_[0].y - ry;
      y1 = points_[0].y + ry;
      break;
    }
    case Kind::kConvex:
    case Kind::kCapsule: {
      const int64_t pad = kind_ == Kind::kCapsule ? a_ : 0;
      x0 = x1 = points_[0].x;
      y0 = y1 = points_[0].y;
      for (const SubPt& p : points_) {
        x0 = std::min(x0, p.x);
        x1 = std::max(x1, p.x);
        y0 = std::min(y0, p.y);
        y1 = std::max(y1, p.y);
      }
      x0 -= pad;
      y0 -= pad;
      x1 += pad;
      y1 += pad;
      break;
    }
  }
  const auto [px0, px1] = pixel_span(x0, x1, width);
  const auto [py0, py1] = pixel_span(y0, y1, height);
  return {px0, py0, std::max(px0, px1), std::max(py0, py1)};
}

int value_noise(int x, int y, int cell, uint32_t salt) {
  PM_CHECK(cell > 0, "value_noise: cell must be positive, got {}", cell);
  // Floor division, so negative coordinates continue the lattice.
  const int gx = x >= 0 ? x / cell : -((-x + cell - 1) / cell);
  const int gy = y >= 0 ? y / cell : -((-y + cell - 1) / cell);
  const int fx = x - gx * cell, fy = y - gy * cell;
  const int v00 = static_cast<int>(hash_point(gx, gy, salt) & 255);
  const int v10 = static_cast<int>(hash_point(gx + 1, gy, salt) & 255);
  const int v01 = static_cast<int>(hash_point(gx, gy + 1, salt) & 255);
  const int v11 = static_cast<int>(hash_point(gx + 1, gy + 1, salt) & 255);
  const int top = v00 * (cell - fx) + v10 * fx;
  const int bottom = v01 * (cell - fx) + v11 * fx;
  return (top * (cell - fy) + bottom * fy) / (cell * cell);
}

std::array<uint8_t, 3> Material::at(int x, int y) const {
  int offset = 0;
  if (mottle > 0)
    offset += (value_noise(x, y, mottle_cell, salt) - 128) * mottle / 128;
  if (grain > 0)
    offset += static_cast<int>(hash_point(x, y, salt ^ 0x5bd1e995u) % (2 * grain + 1)) - grain;
  return {static_cast<uint8_t>(clamp_byte(rgb[0] + offset)),
          static_cast<uint8_t>(clamp_byte(rgb[1] + offset)),
          static_cast<uint8_t>(clamp_byte(rgb[2] + offset))};
}

int fuzzy_alpha(int64_t g, int softness) {
  PM_CHECK(softness > 0, "fuzzy_alpha: softness must be positive, got {}", softness);
  if (g <= 256)
    return static_cast<int>(std::min<int64_t>(255, 128 + (256 - g) * 127 / softness));
  return static_cast<int>(std::max<int64_t>(0, 127 - (g - 256) * 127 / softness));
}

ObjectRaster::ObjectRaster(int width, int height)
    : width_(width),
      height_(height),
      rgb_(static_cast<size_t>(width) * height * 3, 0),
      alpha_(static_cast<size_t>(width) * height, 0),
      region_(static_cast<size_t>(width) * height, 0),
      part_(static_cast<size_t>(width) * height, 0) {}

void ObjectRaster::touch(const PixelBox& box) {
  if (box.empty())
    return;
  if (touched_.empty()) {
    touched_ = box;
    return;
  }
  touched_.x0 = std::min(touched_.x0, box.x0);
  touched_.y0 = std::min(touched_.y0, box.y0);
  touched_.x1 = std::max(touched_.x1, box.x1);
  touched_.y1 = std::max(touched_.y1, box.y1);
}

void ObjectRaster::paint(const Shape& shape, const Material& material, bool part) {
  const PixelBox box = shape.bounds(width_, height_);
  PixelBox hit{box.x1, box.y1, box.x0, box.y0};
  for (int y = box.y0; y < box.y1; ++y) {
    for (int x = box.x0; x < box.x1; ++x) {
      if (!shape.covers(pixel_centre(x), pixel_centre(y)))
        continue;
      const size_t i = static_cast<size_t>(y) * width_ + x;
      const auto c = material.at(x, y);
      std::copy(c.begin(), c.end(), rgb_.begin() + i * 3);
      alpha_[i] = 255;
      region_[i] = 1;
      part_[i] = part ? 1 : 0;
      hit = {std::min(hit.x0, x),
             std::min(hit.y0, y),
             std::max(hit.x1, x + 1),
             std::max(hit.y1, y + 1)};
    }
  }
  touch(hit);
}

void ObjectRaster::paint_fuzzy(const FuzzyBlob& blob, const Material& material) {
  PM_CHECK(blob.rx > 0 && blob.ry > 0, "FuzzyBlob: radii must be positive");
  // The alpha ramp ends at g = 256 + softness; with noise ≥ −noise, f ≤ 256 + softness + noise,
  // i.e. within sqrt((256 + softness + noise) / 256) of the radii: 2× covers every setting used.
  const Shape reach = Shape::ellipse(blob.centre, blob.rx * 2, blob.ry * 2);
  const PixelBox box = reach.bounds(width_, height_);
  using Wide = __int128;
  const Wide denom = static_cast<Wide>(blob.rx * blob.ry) * (blob.rx * blob.ry);
  for (int y = box.y0; y < box.y1; ++y) {
    for (int x = box.x0; x < box.x1; ++x) {
      const int64_t dx = pixel_centre(x) - blob.centre.x, dy = pixel_centre(y) - blob.centre.y;
      const Wide num = static_cast<Wide>(squared(dx * blob.ry)) + squared(dy * blob.rx);
      const int64_t f = static_cast<int64_t>(num * 256 / denom);
      if (f > 4 * 256)
        continue;
      const int64_t n = (value_noise(x, y, blob.noise_cell, blob.salt) - 128) * blob.noise / 128;
      const int a = fuzzy_alpha(f + n, blob.softness);
      const size_t i = static_cast<size_t>(y) * width_ + x;
      if (a == 0 || a <= alpha_[i])
        continue;
      const auto c = material.at(x, y);
      std::copy(c.begin(), c.end(), rgb_.begin() + i * 3);
      alpha_[i] = static_cast<uint8_t>(a);
      if (a >= 128)
        region_[i] = 1;
      part_[i] = 0;
    }
  }
  touch(box);
}

size_t ObjectRaster::region_pixels() const {
  return static_cast<size_t>(std::count(region_.begin(), region_.end(), uint8_t{1}));
}

void paint_image(RgbImage& image, const Shape& shape, const Material& material) {
  const PixelBox box = shape.bounds(image.width, image.height);
  for (int y = box.y0; y < box.y1; ++y) {
    for (int x = box.x0; x < box.x1; ++x) {
      if (!shape.covers(pixel_centre(x), pixel_centre(y)))
        continue;
      const auto c = material.at(x, y);
      std::copy(c.begin(),
                c.end(),
                image.pixels.begin() + (static_cast<size_t>(y) * image.width + x) * 3);
    }
  }
}

}  // namespace pm
