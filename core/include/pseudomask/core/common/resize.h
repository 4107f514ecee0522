// SPDX-License-Identifier: MIT
#pragma once

#include "pseudomask/core/common/image.h"
#include "pseudomask/core/common/planes.h"

namespace pm {

/// Bilinear resize of (C, H, W) planes to (C, out_h, out_w) with half-pixel centres and
/// edge clamping: torch's F.interpolate(mode='bilinear', align_corners=False) for upsampling and
/// downsampling without antialiasing.
Planes resize_planes_bilinear(const Planes& planes, int out_h, int out_w);

/// Bilinear resize of an RGB image (half-pixel centres, edge clamping, rounded to nearest).
RgbImage resize_bilinear(const RgbImage& image, int out_w, int out_h);

/// Nearest-neighbour resize of a label map (source pixel floor((x + 0.5)·W/out_w)), so no label is
/// invented.
LabelMap resize_nearest(const LabelMap& labels, int out_w, int out_h);

}  // namespace pm
