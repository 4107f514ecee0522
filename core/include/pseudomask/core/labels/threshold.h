// SPDX-License-Identifier: MIT
#pragma once

#include <string>
#include <vector>

#include "pseudomask/core/common/image.h"
#include "pseudomask/core/common/ndarray.h"

namespace pm {

/// Per pixel, the strongest CAM channel and its value: the argmax that IRN-style
/// thresholding needs. Ties go to the lowest channel, as np.argmax does.
struct CamPeak {
  std::vector<float> value;  ///< max_k cam[k, p]; 0 where there are no channels
  std::vector<int> channel;  ///< argmax_k cam[k, p]; -1 where there are no channels
};

/// Computes the per-pixel maximum and argmax of (K, H, W) float32 CAMs.
CamPeak cam_peaks(const NDArray& cams);

/// IRN/ORANDNet CAM-to-label: a constant background plane at `threshold` is put in front of the
/// CAMs and the argmax taken, so background wins ties (a class needs cam > threshold);
/// channel k becomes label keys[k] + 1. cams: (K, H, W) float32 with K = keys.size().
LabelMap labels_from_cams(const NDArray& cams,
                          const std::vector<int>& keys,
                          float threshold,
                          const std::string& name);

}  // namespace pm
