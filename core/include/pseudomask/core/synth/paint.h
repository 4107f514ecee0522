// SPDX-License-Identifier: MIT
// Integer geometry and textures for the synthetic dataset. Every coverage test is exact integer
// arithmetic on sub-pixel coordinates, so a pixel is inside or outside a shape on every machine
// alike (no libm, no float rounding).
#pragma once

#include <array>
#include <cstdint>
#include <vector>

#include "pseudomask/core/common/image.h"

namespace pm {

/// Sub-pixel units per pixel: coordinates are in 1/16 px; pixel (x, y) has its centre at
/// (16x + 8, 16y + 8).
constexpr int64_t kSubPixel = 16;

/// A point in sub-pixel units.
struct SubPt {
  int64_t x = 0;
  int64_t y = 0;
};

/// Sub-pixel centre of pixel index `i`.
inline int64_t pixel_centre(int i) {
  return static_cast<int64_t>(i) * kSubPixel + kSubPixel / 2;
}

/// An inclusive-exclusive pixel rectangle [x0, x1) × [y0, y1).
struct PixelBox {
  int x0 = 0;
  int y0 = 0;
  int x1 = 0;
  int y1 = 0;
  bool empty() const { return x1 <= x0 || y1 <= y0; }
};

/// A filled region with an exact integer point-in-shape test. Coordinates and lengths are in
/// sub-pixel units (kSubPixel per pixel); at most 1024-pixel images keep every product in int64.
class Shape {
 public:
  /// Filled axis-aligned ellipse: ((x-cx)/rx)² + ((y-cy)/ry)² ≤ 1.
  static Shape ellipse(SubPt centre, int64_t rx, int64_t ry);
  /// Filled convex polygon (3 to 8 vertices, either winding); points on an edge are inside.
  static Shape convex(const std::vector<SubPt>& vertices);
  /// Axis-aligned box [x0, x1] × [y0, y1].
  static Shape box(int64_t x0, int64_t y0, int64_t x1, int64_t y1);
  /// Segment a–b thickened by `radius` (a stadium): distance to the segment ≤ radius. Thin lines.
  static Shape capsule(SubPt a, SubPt b, int64_t radius);
  /// Annulus: inner < distance to the centre ≤ outer. Wheels, rings.
  static Shape ring(SubPt centre, int64_t outer, int64_t inner);

  /// Whether the sub-pixel point (x, y) is inside.
  bool covers(int64_t x, int64_t y) const;
  /// The pixels whose centres may be inside, clipped to a width × height image.
  PixelBox bounds(int width, int height) const;

 private:
  enum class Kind { kEllipse, kConvex, kCapsule, kRing };
  Kind kind_ = Kind::kEllipse;
  std::vector<SubPt> points_;  ///< ellipse/ring: centre; convex: vertices; capsule: a, b
  int64_t a_ = 0;              ///< ellipse rx; capsule radius; ring outer radius
  int64_t b_ = 0;              ///< ellipse ry; ring inner radius
};

/// Smooth integer value noise in [0, 255]: hashed values on a lattice of `cell` pixels,
/// bilinearly interpolated in integers. Depends only on (x, y, cell, salt).
int value_noise(int x, int y, int cell, uint32_t salt);

/// A surface colour with texture: base colour + smooth mottling + per-pixel grain.
struct Material {
  std::array<int, 3> rgb{128, 128, 128};  ///< base colour
  int grain = 6;                          ///< per-pixel noise amplitude (±)
  int mottle = 0;                         ///< value-noise amplitude (±)
  int mottle_cell = 8;                    ///< value-noise lattice spacing in pixels
  uint32_t salt = 0;                      ///< texture seed

  /// The colour of pixel (x, y), clamped to [0, 255].
  std::array<uint8_t, 3> at(int x, int y) const;
};

/// A blob with a fuzzy, noisy outline: the ellipse (centre, rx, ry) whose normalised squared
/// radius f = ((x-cx)/rx)² + ((y-cy)/ry)², scaled so that f = 256 on the ellipse, is perturbed by
/// value noise. The ground-truth region is f + noise ≤ 256; the image alpha falls from 255 to 0
/// over ±`softness` around it, and alpha ≥ 128 (≥ 0.5) exactly on the region.
struct FuzzyBlob {
  SubPt centre;
  int64_t rx = 0;
  int64_t ry = 0;
  int noise = 60;      ///< amplitude (±) of the outline perturbation, in f units
  int noise_cell = 6;  ///< value-noise lattice spacing in pixels
  int softness = 90;   ///< half-width of the alpha ramp, in f units
  uint32_t salt = 0;   ///< outline seed
};

/// Alpha (0..255) of a fuzzy outline at level g (f + noise): ≥ 128 iff g ≤ 256. Fuzzy
/// boundaries: soft in the image, exact in the ground truth (the region where alpha ≥ 0.5).
int fuzzy_alpha(int64_t g, int softness);

/// One object drawn on its own, the size of the image: colour, alpha (how much it covers the
/// picture), the exact ground-truth region, and the discriminative part. Parts drawn later cover
/// earlier ones (paint order within the object).
class ObjectRaster {
 public:
  ObjectRaster(int width, int height);

  /// Fills `shape` with `material` at full alpha; marks the region, and the part where `part`.
  void paint(const Shape& shape, const Material& material, bool part = false);
  /// Draws a fuzzy blob: alpha from fuzzy_alpha, region where alpha ≥ 128.
  void paint_fuzzy(const FuzzyBlob& blob, const Material& material);

  int width() const { return width_; }
  int height() const { return height_; }
  /// The rectangle that holds every touched pixel (empty if nothing was drawn).
  const PixelBox& touched() const { return touched_; }
  uint8_t alpha(size_t i) const { return alpha_[i]; }
  bool region(size_t i) const { return region_[i] != 0; }
  bool part(size_t i) const { return part_[i] != 0; }
  const uint8_t* rgb(size_t i) const { return &rgb_[i * 3]; }
  /// Pixels in the ground-truth region.
  size_t region_pixels() const;

 private:
  void touch(const PixelBox& box);

  int width_;
  int height_;
  std::vector<uint8_t> rgb_;
  std::vector<uint8_t> alpha_;
  std::vector<uint8_t> region_;
  std::vector<uint8_t> part_;
  PixelBox touched_{0, 0, 0, 0};
};

/// Fills `shape` in `image` with `material` (background clutter: no label).
void paint_image(RgbImage& image, const Shape& shape, const Material& material);

/// Blends `over` onto `under` with alpha a ∈ [0, 255]: (under·(255 − a) + over·a + 127) / 255.
inline uint8_t blend_channel(int under, int over, int a) {
  return static_cast<uint8_t>((under * (255 - a) + over * a + 127) / 255);
}

}  // namespace pm
