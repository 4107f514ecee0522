// SPDX-License-Identifier: MIT
#pragma once

#include <string>

#include "pseudomask/core/common/image.h"
#include "pseudomask/core/crf/dense_crf.h"

namespace pm {

/// Reads per-label planes for an image of width×height from a .npy, or a .npz holding one array,
/// shaped (C, H, W) or (C, H·W) (float16, float32 or float64: probabilities, logits or
/// energies) as (C, H, W) float32 planes. With width or height 0 the file must be (C, H, W) and
/// gives the size. Throws naming the file when the shape does not fit the image, the dtype is not
/// a float or a value is NaN.
Planes read_label_planes(const std::string& path, int width, int height);

/// Softmax over the label axis of logits, in place (as F.softmax(dim=0)).
void softmax_labels(Planes& logits);

/// Unary from a label PNG for a CRF: labels 0..num_labels−1 with probability gt_prob, and 255
/// (ignore) as "unknown" (the same energy log M for every label, pydensecrf's zero_unsure).
/// num_labels ≤ 0 means max label + 1 (at least 2). Throws naming `name` for labels out of range.
Unary unary_from_label_map(const LabelMap& labels,
                           int num_labels,
                           double gt_prob,
                           const std::string& name);

}  // namespace pm
