// SPDX-License-Identifier: MIT
#include "pseudomask/core/labels/threshold.h"

#include "pseudomask/core/common/error.h"

namespace pm {

// Largest number of CAM channels a label map can hold: labels 1..254 (0 is background and
// 255 is ignore).
constexpr size_t kMaxCamChannels = 254;

CamPeak cam_peaks(const Planes& cams) {
  const size_t k_count = static_cast<size_t>(cams.channels());
  const size_t pixels = cams.pixels();
  CamPeak peak;
  peak.value.assign(pixels, 0.0f);
  peak.channel.assign(pixels, -1);
  const float* data = cams.data();
  for (size_t k = 0; k < k_count; ++k) {
    const float* plane = data + k * pixels;
    for (size_t p = 0; p < pixels; ++p) {
      if (k == 0 || plane[p] > peak.value[p]) {
        peak.value[p] = plane[p];
        peak.channel[p] = static_cast<int>(k);
      }
    }
  }
  return peak;
}

LabelMap local_labels_from_cams(const Planes& cams, float threshold) {
  PM_CHECK(static_cast<size_t>(cams.channels()) <= kMaxCamChannels,
           "CAMs must be (K, H, W) with K <= {}, got {}",
           kMaxCamChannels,
           cams.describe());
  const CamPeak peak = cam_peaks(cams);
  LabelMap out(cams.width(), cams.height(), 0);
  for (size_t p = 0; p < out.labels.size(); ++p) {
    if (peak.channel[p] >= 0 && peak.value[p] > threshold)
      out.labels[p] = static_cast<uint8_t>(peak.channel[p] + 1);
  }
  return out;
}

LabelMap local_labels_to_classes(const LabelMap& local,
                                 const std::vector<int>& keys,
                                 const std::string& name) {
  for (int key : keys) {
    PM_CHECK(key >= 0 && key < 254, "{}: class key {} out of range", name, key);
  }
  LabelMap out = local;
  for (uint8_t& v : out.labels) {
    if (v == 0 || v == kIgnoreLabel)
      continue;
    PM_CHECK(v <= keys.size(), "{}: label {} has no key ({} keys)", name, v, keys.size());
    v = static_cast<uint8_t>(keys[v - 1u] + 1);
  }
  return out;
}

LabelMap labels_from_cams(const Planes& cams,
                          const std::vector<int>& keys,
                          float threshold,
                          const std::string& name) {
  PM_CHECK(static_cast<size_t>(cams.channels()) == keys.size(),
           "{}: CAMs {} do not match {} keys",
           name,
           cams.describe(),
           keys.size());
  return local_labels_to_classes(local_labels_from_cams(cams, threshold), keys, name);
}

}  // namespace pm
