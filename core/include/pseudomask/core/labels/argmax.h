// SPDX-License-Identifier: MIT
#pragma once

#include <string>

#include "pseudomask/core/common/image.h"

namespace pm {

/// The plain argmax of a probability map file: a .npy (or a .npz holding one array) of
/// float16/32/64 probabilities (or
/// logits: the argmax is the same) shaped (C, H, W), or (C, H·W) when `width` and `height` are
/// given. Label l is plane l; the lowest label wins ties, as np.argmax does. No CRF, no
/// clipping. If width and height are > 0 the map must be that size. Throws naming the file for
/// another shape, NaN values, or more than 255 planes (label 255 is the ignore label).
LabelMap argmax_probability_file(const std::string& path, int width = 0, int height = 0);

}  // namespace pm
