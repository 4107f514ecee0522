// SPDX-License-Identifier: MIT
// The pictures researchers look at: label maps in the VOC palette over the image, CAM heat maps,
// uncertainty / weight maps. Integer arithmetic; every function returns a new image.
#pragma once

#include <array>
#include <cstdint>
#include <vector>

#include "pseudomask/core/cam/cam_file.h"
#include "pseudomask/core/common/image.h"
#include "pseudomask/core/common/planes.h"
#include "pseudomask/core/io/image/label_io.h"

namespace pm {

/// Default weight (0..255) of the overlay colour in blends: half and half.
constexpr int kOverlayAlpha = 128;

/// Label colours blended over an image, per channel:
/// out = (image · (255 − alpha) + palette[label] · alpha + 127) / 255. Every label is blended,
/// background (black in the VOC palette) and 255 (ignore) included. Sizes must match.
RgbImage blend_labels(const RgbImage& image,
                      const LabelMap& labels,
                      int alpha = kOverlayAlpha,
                      const Palette& palette = voc_palette());

/// A label map as palette colours.
RgbImage colorize_labels(const LabelMap& labels, const Palette& palette = voc_palette());

/// The jet colormap (as matplotlib's): v in [0, 1] (clamped; NaN as 0) → RGB with
/// r = clip(1.5 − |4v − 3|), g = clip(1.5 − |4v − 2|), b = clip(1.5 − |4v − 1|), × 255 rounded:
/// jet(0) = (0, 0, 128), jet(0.5) = (128, 255, 128), jet(1) = (128, 0, 0).
std::array<uint8_t, 3> jet(float v);

/// A (1, H, W) map, values in [0, 1], as jet colours.
RgbImage heatmap(const Planes& values);

/// A heat map blended over an image (same size) with weight `alpha` (0..255) for the colours.
RgbImage blend_heatmap(const RgbImage& image, const Planes& values, int alpha = kOverlayAlpha);

/// One panel per CAM channel: the class's map (high_res if present, else cam, resized bilinearly
/// to the image when sizes differ), clipped to [0, 1], as a heat map over the image. Panels are in
/// key order.
std::vector<RgbImage> cam_panels(const RgbImage& image, const CamFile& cams);

/// URN's uncertainty picture from an 8-bit weight map (weight·255; low weight = uncertain): the
/// uncertainty 1 − w as a jet heat map (not blended), red where the loss weight is lowest.
RgbImage uncertainty_panel(const WeightMap& weights);

/// The uncertainty 1 − w of weight bytes, (255 − W8) / 255, as (1, H, W) planes.
Planes uncertainty_map(const WeightMap& weights);

}  // namespace pm
