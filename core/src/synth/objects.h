// SPDX-License-Identifier: MIT
// Internal: how each synthetic class is drawn.
#pragma once

#include <cstdint>

#include "pseudomask/core/synth/paint.h"
#include "pseudomask/core/synth/rng.h"

namespace pm::synth_detail {

/// Where and how large an object is drawn: its anchor in sub-pixel units, its scale s (sub-pixel
/// units; the class decides what s measures) and its facing (+1 right, −1 left).
struct Pose {
  SubPt centre;
  int64_t s = 0;
  int dir = 1;
};

/// An object's extent around its anchor, in per mille of s, and its scale range in per mille of
/// the image side.
struct ObjectExtent {
  int half_width = 500;
  int top = 500;     ///< extent above the anchor
  int bottom = 500;  ///< extent below the anchor
  int min_scale = 300;
  int max_scale = 550;
};

/// The extent of class `class_id` (0-based).
const ObjectExtent& object_extent(int class_id);

/// Draws one object of class `class_id` into `raster`; the random stream picks colours and
/// variations.
void draw_object(int class_id, ObjectRaster& raster, const Pose& pose, SynthRng& rng);

/// Colours shared by several classes and by the background clutter, so that colour alone never
/// tells a class.
constexpr int kSharedColourCount = 6;
extern const int kSharedColours[kSharedColourCount][3];

/// Capsule radius of thin structures at scale s: about 1 px at the default size.
int64_t thin_radius(int64_t s);

}  // namespace pm::synth_detail
