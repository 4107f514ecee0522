// SPDX-License-Identifier: MIT
#pragma once

#include <vector>

#include "pseudomask/core/common/image.h"

namespace pm {

/// Box blur of one H×W float plane (row-major): each pixel becomes the mean over the
/// (2·radius+1)² window around it, clipped to the image at the borders (the clipped window's
/// mean, not a padded one). Sums in double through an integral image, so the cost does not
/// depend on the radius.
std::vector<float> box_blur(const std::vector<float>& plane, int width, int height, int radius);

/// Per pixel, the index of the largest of `labels` planes of width×height values each
/// ((C, H, W) row-major); the lowest index wins ties, as np.argmax does.
LabelMap argmax_labels(const float* planes, int labels, int width, int height);

}  // namespace pm
