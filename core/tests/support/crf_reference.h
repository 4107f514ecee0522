// SPDX-License-Identifier: MIT
#pragma once

// The dense-CRF reference case's inputs (tests/data/crf, reference/README.md): the label ranks of
// an annotation PNG and the unary pydensecrf's unary_from_labels(ranks, M, 0.7, zero_unsure=True)
// made from them. The reference's unary files are not stored: they are derived here (the core
// test CrfUnary.FromLabelsReproducesTheReferenceUnariesBitForBit checks the derivation against
// CRC-32s of the original files).

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include "pseudomask/core/crf/dense_crf.h"
#include "pseudomask/core/io/image/image_io.h"

namespace pm::test {

/// The reference README's label extraction: colour code c = R + 256·G + 65536·B of the expanded
/// annotation, ranked among the distinct codes (black, rank 0, means unknown).
inline LabelMap annotation_ranks(const std::string& path) {
  const RgbImage rgb = read_image(path);
  std::vector<uint32_t> codes(rgb.num_pixels());
  for (size_t p = 0; p < codes.size(); ++p) {
    codes[p] = rgb.pixels[3 * p] + 256u * rgb.pixels[3 * p + 1] + 65536u * rgb.pixels[3 * p + 2];
  }
  std::vector<uint32_t> distinct = codes;
  std::sort(distinct.begin(), distinct.end());
  distinct.erase(std::unique(distinct.begin(), distinct.end()), distinct.end());
  LabelMap out(rgb.width, rgb.height);
  for (size_t p = 0; p < codes.size(); ++p) {
    out.labels[p] = static_cast<uint8_t>(
        std::lower_bound(distinct.begin(), distinct.end(), codes[p]) - distinct.begin());
  }
  return out;
}

/// The reference unary im<image>_unary_M<labels> (labels × W·H, label-major) from
/// `crf_dir`/anno<image>.png.
inline Unary reference_unary(const std::string& crf_dir, int image, int labels) {
  const LabelMap ranks = annotation_ranks(crf_dir + "/anno" + std::to_string(image) + ".png");
  return unary_from_labels(ranks, labels, 0.7, /*zero_unsure=*/true);
}

}  // namespace pm::test
