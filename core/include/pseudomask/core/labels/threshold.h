// SPDX-License-Identifier: MIT
#pragma once

#include <string>
#include <vector>

#include "pseudomask/core/common/image.h"
#include "pseudomask/core/common/planes.h"

namespace pm {

/// Per pixel, the strongest CAM channel and its value: the argmax that IRN-style
/// thresholding needs. Ties go to the lowest channel, as np.argmax does.
struct CamPeak {
  std::vector<float> value;  ///< max_k cam[k, p]; 0 where there are no channels
  std::vector<int> channel;  ///< argmax_k cam[k, p]; -1 where there are no channels
};

/// Computes the per-pixel maximum and argmax of (K, H, W) CAMs.
CamPeak cam_peaks(const Planes& cams);

/// The thresholded argmax in local labels: 0 = background (a constant plane at `threshold` in
/// front, winning ties), k + 1 = CAM channel k. cams: (K, H, W) with K ≤ 254.
LabelMap local_labels_from_cams(const Planes& cams, float threshold);

/// Maps local labels to class labels: 0 stays 0, k + 1 becomes keys[k] + 1, and 255 (ignore)
/// stays 255. Throws naming `name` for a key outside [0, 253] or a label with no key.
LabelMap local_labels_to_classes(const LabelMap& local,
                                 const std::vector<int>& keys,
                                 const std::string& name);

/// IRN/ORANDNet CAM-to-label: a constant background plane at `threshold` is put in front of the
/// CAMs and the argmax taken, so background wins ties (a class needs cam > threshold);
/// channel k becomes label keys[k] + 1. cams: (K, H, W) with K = keys.size().
LabelMap labels_from_cams(const Planes& cams,
                          const std::vector<int>& keys,
                          float threshold,
                          const std::string& name);

}  // namespace pm
