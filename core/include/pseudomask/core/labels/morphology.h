// SPDX-License-Identifier: MIT
#pragma once

#include <cstdint>

#include "pseudomask/core/common/image.h"

namespace pm {

/// Replaces every pixel equal to `from` by `to` (e.g. the ignore label 255 by background 0, or
/// one class by another: a "label swap").
LabelMap replace_label(const LabelMap& labels, uint8_t from, uint8_t to);

/// Grows foreground into background: a background (0) pixel whose (2r+1)×(2r+1) window holds a
/// foreground label (1..254) takes the smallest such label. Other pixels are unchanged.
LabelMap dilate_foreground(const LabelMap& labels, int radius);

/// Shrinks foreground: a foreground pixel (1..254) whose (2r+1)×(2r+1) window, clipped to the
/// image, holds any other label becomes background (0).
LabelMap erode_foreground(const LabelMap& labels, int radius);

}  // namespace pm
