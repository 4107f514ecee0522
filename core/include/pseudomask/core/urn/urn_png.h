// SPDX-License-Identifier: MIT
#pragma once

#include <string>
#include <vector>

#include "pseudomask/core/common/image.h"
#include "pseudomask/core/common/planes.h"

// The official URN label file: M_c with the weight mask W (URN Eq. 11) in one PNG, as the paper's
// implementation details describe ("we concatenate pseudo-mask and weight mask into one image";
// Y is restored from W with Eq. 12 when training). The official code writes
// np.stack([M_c, W8, W8], axis=2) with cv2.imwrite, whose arrays are BGR, so the PNG holds
// B = M_c, G = W8, R = W8. A plain RGB reader (PIL, stb, our read_image) therefore sees
// (R, G, B) = (W8, W8, M_c): the label is the THIRD channel, not the first. mmseg's pillow
// loader swaps back to [M_c, W8, W8] and the loss takes channel 0 as the label, channel 1 / 255
// as the weight.

namespace pm {

/// The contents of an official URN label file.
struct UrnLabel {
  LabelMap mask;          ///< M_c (the file's B channel)
  WeightMap weight_byte;  ///< W8 (the file's G and R channels)
};

/// The RGB image that the official file holds: (R, G, B) = (weight_byte, weight_byte, mask).
/// Throws if the sizes differ.
RgbImage urn_official_image(const LabelMap& mask, const WeightMap& weight_byte);

/// Splits an RGB image read from an official file: B → mask, G → weight byte. Throws naming
/// `name` if R ≠ G anywhere (not an URN file, or channels swapped).
UrnLabel split_urn_official_image(const RgbImage& image, const std::string& name);

/// Writes the official 3-channel PNG atomically.
void write_urn_png(const std::string& path, const LabelMap& mask, const WeightMap& weight_byte);

/// Reads an official 3-channel PNG. Errors name the file.
UrnLabel read_urn_png(const std::string& path);

/// The final weights Y ∈ [0, 1] ((1, H, W) planes) as bytes round(Y·255) (e.g. t = 0.05 → 13,
/// 1 → 255), for a gray picture of them.
WeightMap weight_to_gray(const Planes& weight);

/// Writes weight bytes as a single-channel 8-bit grayscale PNG, atomically.
void write_weight_png(const std::string& path, const WeightMap& weights);

/// Reads weight bytes from a PNG: its red channel, so a grayscale file (as write_weight_png
/// writes) and an official URN file (R = G = W8) both read as their weights. Errors name the file.
WeightMap read_weight_png(const std::string& path);

}  // namespace pm
