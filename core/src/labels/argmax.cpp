// SPDX-License-Identifier: MIT
#include "pseudomask/core/labels/argmax.h"

#include "pseudomask/core/common/error.h"
#include "pseudomask/core/common/planes.h"
#include "pseudomask/core/crf/crf_inputs.h"

namespace pm {

LabelMap argmax_probability_file(const std::string& path, int width, int height) {
  const Planes planes = read_label_planes(path, width, height);
  PM_CHECK(planes.channels() <= 255,
           "{}: {} planes; labels are 8-bit with 255 the ignore label (1..255 planes)",
           path,
           planes.channels());
  return argmax_labels(planes);
}

}  // namespace pm
